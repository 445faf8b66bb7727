import { defineConfig } from 'vitest/config';

// Two projects: `host` runs pure TypeScript tests anywhere; `vm` runs tests of kernel behaviour and is
// started inside the VM test bed (scripts/test.mjs), against Debian's 6.12 kernel.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'host',
          include: ['{packages,apps,tools}/*/src/**/*.test.ts'],
          exclude: ['**/*.vm.test.ts', '**/node_modules/**', '**/dist/**'],
          typecheck: { enabled: true, include: ['{packages,apps,tools}/*/src/**/*.test-d.ts'], tsconfig: './tsconfig.test.json' },
        },
      },
      {
        test: {
          name: 'vm',
          include: ['{packages,apps,tools}/*/src/**/*.vm.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          pool: 'forks',
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
