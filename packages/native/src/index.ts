// @dmaheap/native: the real system calls (validated in TypeScript, done in a small N-API addon) and the
// kernel's own dma-buf heaps. Importing it registers the kernel heaps with @dmaheap/core's registry.
export { constants, type NativeConstants } from './binding.js';
export { PAGE_SIZE } from './validate.js';
export { closeFd, dupFd, openDevice } from './fds.js';
export {
  bufSetName,
  bufSync,
  bufSyncEnd,
  bufSyncStart,
  dmaBufSyncFlags,
  heapAlloc,
  heapAllocAsync,
  MAX_DMABUF_NAME_BYTES,
  type HeapAllocOptions,
  type SyncAccess,
  type SyncPhase,
} from './dmabuf.js';
export { madvise, mappingAddress, MAX_MAPPING, mmapFd, munmap, pagemap, type MadviseAdvice, type MmapOptions, type PageInfo } from './mappings.js';
export {
  addSeals,
  fallocate,
  ftruncate,
  getSeals,
  memfdCreate,
  sealNames,
  type FallocateMode,
  type MemfdOptions,
  type SealName,
} from './memfd.js';
export { readUdmabufLimits, udmabufCreate, udmabufCreateList, type UdmabufItem, type UdmabufLimits } from './udmabuf.js';
export { listDmaHeaps, openFdCount, readFdInfo, type FdInfo } from './proc.js';
export { MAX_MESSAGE_FDS, recvFds, sendFds, socketPair, socketType, type Received, type SocketType } from './sockets.js';
export { FdWatcher, waitFd, type Readiness, type WaitOptions } from './watch.js';
export { exportSyncFile, importSyncFile, waitIdle, waitSyncFile, type FenceAccess } from './sync-file.js';
export { dmaBufInfo, importDmaBuf, type ImportedInfo } from './import.js';
export { unchecked } from './unchecked.js';
export { DEFAULT_RESERVE, meminfo, MemoryGuard } from './memory-guard.js';
export { bootLog, dirtyFreeMemory, kernelLogReader, ownCgroup, pageInit, probeFallocatedUdmabuf, probeHeapMemcg, type PageInit, type Probe } from './probes.js';
export { invalidArgument, isSystemError, systemError, type ArgumentError, type SystemError } from './errors.js';
export {
  adoptNewFd,
  CMA_HEAP_NAMES,
  DMA_HEAP_DIR,
  dmaBufOps,
  kernelHeap,
  kernelHeapProvider,
  type KernelHeapOptions,
} from './kernel-heap.js';
