export { DmaBuf, setLeakHandler, trackAllocations, type DmaBufInit, type DmaBufOps, type LeakHandler, type ReleaseState } from './dmabuf.js';
export {
  ClosedError,
  DmaHeapError,
  fromSystemError,
  HeapNotFoundError,
  InvalidArgumentError,
  InvalidStateError,
  LimitExceededError,
  OutOfMemoryError,
  PermissionDeniedError,
  type DmaHeapErrorCode,
  type DmaHeapErrorOptions,
} from './errors.js';
export { AbstractHeap } from './heap.js';
export { listHeaps, openHeap, registerAlias, registerHeap, type HeapListing, type HeapProvider } from './registry.js';
export type {
  AccessMode,
  AllocateOptions,
  BufferInfo,
  CpuAccess,
  Heap,
  HeapCapabilities,
  HeapStats,
  PageList,
  SgSegment,
  SgTable,
} from './types.js';
export {
  checks,
  MAX_NAME_BYTES,
  validateAccessMode,
  validateAllocateOptions,
  validateName,
  validateOptions,
  validateSize,
  type OptionCheck,
} from './validate.js';
