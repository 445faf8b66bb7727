import type { DmaBuf } from './dmabuf.js';

/** What the caller will do with a buffer's memory from the CPU. */
export type CpuAccess = 'none' | 'read' | 'write' | 'readwrite';

/** The direction of a CPU access bracket (`DMA_BUF_IOCTL_SYNC`). */
export type AccessMode = 'read' | 'write' | 'readwrite';

export interface AllocateOptions {
  /** The dma-buf's name (shown in `/proc/<pid>/fdinfo` and debugfs), at most 31 bytes. */
  name?: string;
  /** What the caller will do with the memory from the CPU; heaps may use it to skip work. Default `'readwrite'`. */
  cpuAccess?: CpuAccess;
}

export interface HeapCapabilities {
  /** Physically contiguous memory (what devices without an IOMMU need). */
  contiguous: boolean;
  /** CPU mappings are cached (CPU access must be bracketed for non-coherent devices). */
  cached: boolean;
  /** Largest single allocation in bytes, when the heap knows one. */
  maxAllocation?: number;
  /** Alignment of allocations in bytes. */
  alignment: number;
  /** Where the memory comes from, e.g. `'kernel:system'`, `'memfd+udmabuf'`, `'kernel:cma'`. */
  backing: string;
}

/**
 * What a heap does beyond allocating, declared (the abstract-level manifest): callers and the conformance suite
 * read it instead of looking for methods. Every heap has `trim()` and `collectDeferred()`; where `supports`
 * says false they do nothing and return 0.
 */
export interface HeapSupports {
  /** `trim(targetBytes)` gives pooled memory back to the kernel (heaps and pools that keep memory for reuse). */
  trim: boolean;
  /** `collectDeferred()` recycles buffers whose free was deferred while something else held them. */
  collectDeferred: boolean;
  /** `allocateAsync()` leaves the event loop free while the kernel allocates (the ioctl on libuv's thread pool). */
  asyncAllocation: boolean;
}

export interface HeapStats {
  /** Buffers allocated and not yet closed. */
  liveBuffers: number;
  /** Bytes in those buffers. */
  liveBytes: number;
  /** Allocations since the heap was opened. */
  allocations: number;
  /** Allocations that failed. */
  failures: number;
  /** Heap-specific figures (pool bytes per order, hits, misses, ...). */
  [key: string]: unknown;
}

/** A dma-buf heap: a named allocator of dma-bufs. Version 1 of the interface. */
export interface Heap {
  readonly specificationVersion: 'v1';
  readonly name: string;
  readonly capabilities: HeapCapabilities;
  /** What this heap does beyond allocating. */
  readonly supports: HeapSupports;
  /** Allocates a buffer of at least `size` bytes (rounded up to the page size). */
  allocate(size: number, options?: AllocateOptions): DmaBuf;
  /** The same as `allocate`, for heaps whose allocation can block (CMA compaction, pools refilling). */
  allocateAsync(size: number, options?: AllocateOptions): Promise<DmaBuf>;
  stats(): HeapStats;
  /** Gives pooled memory back until at most `targetBytes` stay pooled; returns the bytes given back (0 where `supports.trim` is false). */
  trim(targetBytes?: number): number;
  /** Recycles deferred buffers nothing else holds any more; returns how many are still held (0 where `supports.collectDeferred` is false). */
  collectDeferred(): number;
  /** Releases the heap's own resources; buffers already allocated stay valid. Idempotent. */
  close(): void;
}

/** One piece of a scatter-gather table: `length` bytes at `offset` of the file `fd` (a memfd). */
export interface SgSegment {
  fd: number;
  offset: number;
  length: number;
}

/** A scatter-gather table: what a buffer is made of, in order. */
export type SgTable = readonly SgSegment[];

/** The pages of one contiguous block, in order (the CMA heap's view of a buffer). */
export interface PageList {
  /** Size of one page in bytes. */
  pageSize: number;
  /** Number of pages. */
  count: number;
  /** Physical frame numbers, when the kernel lets userspace see them. */
  pfns?: readonly bigint[];
}

/** What the kernel says about one dma-buf (`/proc/self/fdinfo`). */
export interface BufferInfo {
  size: number;
  /** References to the file: 1 when only this fd holds it. */
  count: number;
  /** The exporter: `system`, `udmabuf`, a CMA heap's name. */
  exporter: string;
  name?: string;
}
