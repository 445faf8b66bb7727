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
