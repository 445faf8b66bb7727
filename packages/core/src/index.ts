export {
  DmaBuf,
  lend,
  setLeakHandler,
  trackAllocations,
  type DmaBufInit,
  type DmaBufOps,
  type LeakHandler,
  type LentBuffer,
  type ReleaseState,
} from './dmabuf.js';
export {
  ClosedError,
  DmaHeapError,
  fromSystemError,
  HeapNotFoundError,
  InvalidArgumentError,
  InvalidStateError,
  LimitExceededError,
  NotSupportedError,
  OutOfMemoryError,
  PermissionDeniedError,
  ProtocolError,
  TimeoutError,
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
  allocateOptionChecks,
  checks,
  MAX_NAME_BYTES,
  validateAccessMode,
  validateAllocateOptions,
  validateName,
  validateOptions,
  validateSize,
  type OptionCheck,
} from './validate.js';
export { PAGE_SIZE, pageSizeFromAuxv } from './page-size.js';
