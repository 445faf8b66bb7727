import type { RunOptions } from './run.js';

/**
 * The guest the kernel tests expect: vgem (a DRM device that imports dma-bufs), vivid with a vmalloc and a
 * dma-contig capture queue (/dev/video0, /dev/video1), huge pages reserved, THP for shmem on advice.
 */
export const VM_TEST_SETUP = {
  modules: [
    { name: 'vgem' },
    { name: 'vivid', params: 'n_devs=2 allocators=0,1 node_types=0x1,0x1' },
  ],
  hugepages: 64,
  memory: '3G',
  setup: ['echo advise > /sys/kernel/mm/transparent_hugepage/shmem_enabled'],
} satisfies Partial<RunOptions>;

/**
 * The guest of the fresh-memory tests (`*.noinit.vm.test.ts`, vitest project `noinit`): the stock guest booted
 * with `init_on_alloc=0`, so the kernel does not clear pages as it allocates them, as on kernels built without
 * INIT_ON_ALLOC_DEFAULT_ON (the test bed's CMA and arm64 kernels, many embedded ones; Debian turns it on). Memory
 * handed out before it was cleared then shows old data. A boot of its own: the whole stock suite in such a guest
 * once ended with the test runner's own Node dying of SIGSEGV after 2 minutes (not reproduced, not explained).
 */
export const VM_NOINIT_SETUP = {
  ...VM_TEST_SETUP,
  cmdline: 'init_on_alloc=0',
  memory: '2G',
} satisfies Partial<RunOptions>;

/**
 * Contiguous memory the CMA kernel reserves at boot (`cma=`): the heap `/dev/dma_heap/reserved`. In the 3 GiB
 * guest up to 1536M can be reserved (2G: "cma: Failed to reserve 2048 MiB"); 256M keeps the exhaustion tests
 * short (the whole area is used up in about 2 s under TCG).
 */
export const VM_CMA_SIZE = '256M';

/**
 * The guest the CMA tests (`*.cma.vm.test.ts`) expect: the CMA kernel (ensureCmaKernel: everything built in)
 * booted with `cma=256M`, so the CMA heap is `/dev/dma_heap/reserved`; vivid's vmalloc and dma-contig capture
 * queues (/dev/video0, /dev/video1) through its options on the command line; vgem; debugfs mounted for the
 * CMA allocator's own view (`/sys/kernel/debug/cma/reserved/`).
 */
export const VM_CMA_TEST_SETUP = {
  kernel: 'cma',
  cmdline: `cma=${VM_CMA_SIZE} vivid.n_devs=2 vivid.allocators=0,1 vivid.node_types=0x1,0x1`,
  memory: '3G',
  setup: ['mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true'],
} satisfies Partial<RunOptions>;

/**
 * The arm64 guest the arm64 suites expect: the arm64 test kernel (cross-built once, everything built in, like the
 * CMA kernel) with `cma=256M`, vivid's two capture queues and vgem, huge pages reserved.
 */
export const VM_ARM64_TEST_SETUP = {
  kernel: 'arm64',
  cmdline: `cma=${VM_CMA_SIZE} vivid.n_devs=2 vivid.allocators=0,1 vivid.node_types=0x1,0x1`,
  memory: '3G',
  hugepages: 64,
  // debugfs is left unmounted, as in the x86 stock guest: the suites that want it mount it themselves.
  setup: ['echo advise > /sys/kernel/mm/transparent_hugepage/shmem_enabled'],
} satisfies Partial<RunOptions>;

/** Debian's arm64 kernel with 16 KiB pages (with modules; no dma-buf heaps in its configuration). */
export const VM_ARM64_16K_SETUP = {
  kernel: 'arm64-16k',
  memory: '3G',
} satisfies Partial<RunOptions>;
