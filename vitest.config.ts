import { defineConfig } from 'vitest/config';

// The projects: `host` runs pure TypeScript tests anywhere; `vm` runs tests of kernel behaviour and is
// started inside the VM test bed (scripts/test.mjs), against Debian's 6.12 kernel; `noinit` runs the
// fresh-memory tests in a boot of that kernel that does not clear pages at allocation; `lowmem` runs memory
// exhaustion (`*.lowmem.vm.test.ts`) in its own small boot, where nothing else runs beside it; `cma` runs the
// tests that need contiguous memory (`*.cma.vm.test.ts`), in a boot on the CMA kernel the test bed builds.
// Each takes a package's tests from beside its code (`<package>/src`) and the suites that test several packages
// side by side from the workspace's `tests/`, by the same suffixes.
export default defineConfig({
  test: {
    // The lifetime tests and the fuzz run the garbage collector (vitest 3 takes pool options from the root only).
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
    projects: [
      {
        test: {
          name: 'host',
          include: ['{packages,apps,tools}/*/src/**/*.test.ts', 'tests/**/*.test.ts'],
          exclude: ['**/*.vm.test.ts', '**/node_modules/**', '**/dist/**'],
          typecheck: { enabled: true, include: ['{packages,apps,tools}/*/src/**/*.test-d.ts', 'tests/**/*.test-d.ts'], tsconfig: './tsconfig.test.json' },
        },
      },
      {
        test: {
          name: 'vm',
          include: ['{packages,apps,tools}/*/src/**/*.vm.test.ts', 'tests/**/*.vm.test.ts'],
          exclude: ['**/*.cma.vm.test.ts', '**/*.lowmem.vm.test.ts', '**/*.noinit.vm.test.ts', '**/*.arm64.vm.test.ts', '**/*.16k.vm.test.ts', '**/node_modules/**', '**/dist/**'],
          pool: 'forks',
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'noinit',
          include: ['{packages,apps,tools}/*/src/**/*.noinit.vm.test.ts', 'tests/**/*.noinit.vm.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          pool: 'forks',
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'lowmem',
          include: ['{packages,apps,tools}/*/src/**/*.lowmem.vm.test.ts', 'tests/**/*.lowmem.vm.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'cma',
          include: ['{packages,apps,tools}/*/src/**/*.cma.vm.test.ts', 'tests/**/*.cma.vm.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          pool: 'forks',
          // One file at a time: the exhaustion tests use up all contiguous memory, which any other file
          // allocating at the same moment would see.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        // In the arm64 guest (tools/vm's arm64 test kernel): native's suites, and the conformance suite and a
        // vivid capture on the kernel heap and systemHeap() (*.arm64.vm.test.ts).
        test: {
          name: 'arm64',
          include: ['packages/native/src/native.vm.test.ts', 'packages/native/src/kernel-heap-conformance.vm.test.ts', '{packages,apps,tools}/*/src/**/*.arm64.vm.test.ts', 'tests/**/*.arm64.vm.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          pool: 'forks',
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      {
        // In the arm64 guest on Debian's 16 KiB-page kernel: the conformance suite on the heaps that need no heap
        // node (that kernel has no dma-buf heaps): systemHeap() and the pools over it.
        test: {
          name: 'arm64-16k',
          include: ['{packages,apps,tools}/*/src/**/*.16k.vm.test.ts', 'tests/**/*.16k.vm.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          pool: 'forks',
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
