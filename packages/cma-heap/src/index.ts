// @dmaheap/cma-heap: the kernel's contiguous (CMA) dma-buf heaps as one heap, with page lists, region fallback
// and partial mappings. Importing it registers the provider that makes openHeap('cma') a cmaHeap().
import { registerHeap } from '@dmaheap/core';
import { cmaHeapProvider } from './cma-heap.js';

export { cmaHeap, cmaHeapProvider, type CmaHeapInstance } from './cma-heap.js';
export { CmaBuffer, type CmaPlacement } from './cma-buffer.js';
export { CmaOutOfMemoryError, MAX_ALIGN_ORDER, paddedLength, type CmaAllocateOptions, type CmaCapabilities, type CmaHeapOptions } from './options.js';
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
