// @dmaheap/native: the real system calls (validated in TypeScript, done in a small N-API addon) and the
// kernel's own dma-buf heaps. Importing it registers the kernel heaps with @dmaheap/core's registry.
export * from './syscalls.js';
export { unchecked } from './unchecked.js';
export { DEFAULT_RESERVE, meminfo, MemoryGuard } from './memory-guard.js';
// Minimal V4L2 and DRM helpers (struct layouts, request numbers) for tests with real importers.
export * from './v4l2.js';
export * from './drm.js';
export { invalidArgument, isSystemError, systemError, type ArgumentError, type SystemError } from './errors.js';
export {
  CMA_HEAP_NAMES,
  DMA_HEAP_DIR,
  dmaBufOps,
  kernelHeap,
  kernelHeapProvider,
  type KernelHeapOptions,
} from './kernel-heap.js';
