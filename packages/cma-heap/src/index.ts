// @dmaheap/cma-heap: the kernel's contiguous (CMA) dma-buf heaps as one heap, with page lists, region fallback
// and partial mappings. Importing it registers the provider that makes openHeap('cma') a cmaHeap().
import { registerHeap } from '@dmaheap/core';
import { cmaHeapProvider } from './cma-heap.js';

export {
  CmaBuffer,
  cmaHeap,
  cmaHeapProvider,
  CmaOutOfMemoryError,
  MAX_ALIGN_ORDER,
  paddedLength,
  type CmaAllocateOptions,
  type CmaCapabilities,
  type CmaHeapInstance,
  type CmaHeapOptions,
  type CmaPlacement,
} from './cma-heap.js';
export {
  CMA_DEBUGFS_DIR,
  CMA_SYSFS_DIR,
  consecutive,
  isCmaArea,
  newRun,
  parseBitmap,
  parseMeminfo,
  pfnAlignmentOrder,
  readCmaArea,
  readCmaBitmap,
  readCmaMeminfo,
  type CmaAreaInfo,
  type CmaMeminfo,
} from './regions.js';

registerHeap(cmaHeapProvider);
