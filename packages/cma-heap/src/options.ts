// cmaHeap's options and errors, checked before any system call: the heap options, the per-allocation
// alignment, the padding the kernel needs for an alignment, and the error that says what was tried.
import {
  allocateOptionChecks,
  checks,
  DMA_HEAP_DIR,
  OutOfMemoryError,
  PAGE_SIZE,
  validateOptions,
  type AllocateOptions,
  type DmaHeapErrorOptions,
  type HeapCapabilities,
  type OptionCheck,
} from '@dmaheap/core';

/**
 * The kernel's CMA heap aligns each buffer to 2^min(get_order(size), CONFIG_CMA_ALIGNMENT) pages, and
 * CONFIG_CMA_ALIGNMENT is 8 (1 MiB) unless a vendor changed it: no alignment above that can be asked for.
 */
export const MAX_ALIGN_ORDER = 8;

/** Requests from this size on, to an area that is not CMA (a stand-in), are checked against MemAvailable first. */
export const LARGE_REQUEST = 64 * 1024 * 1024;


export interface CmaHeapOptions {
  /**
   * Heap names tried first, in this order, before the names kernels give their CMA heap
   * (`default_cma_region`, `linux,cma`, `reserved`). Names not present under `dir` are skipped.
   */
  names?: readonly string[];
  /** Where the heap nodes are. Default `/dev/dma_heap`. */
  dir?: string;
  /** Every buffer starts at a multiple of 2^alignOrder pages (0–8). Default 0 (a page). */
  alignOrder?: number;
  /**
   * Find each buffer's physical frames in the CMA allocator's bitmap (debugfs: root, debugfs mounted,
   * CONFIG_CMA_DEBUGFS) and check they are one run, aligned as asked. Two reads of the bitmap per allocation.
   * Default false.
   */
  locate?: boolean;
}

export interface CmaAllocateOptions extends AllocateOptions {
  /** This buffer's alignment, as an order of pages (0–8); default the heap's `alignOrder`. */
  alignOrder?: number;
}

/** Capabilities of a CMA heap: the core's, plus what the kernel reports about contiguous memory now. */
export interface CmaCapabilities extends HeapCapabilities {
  /** The largest allocation possible now: the largest free run (debugfs `maxchunk`) where visible, else CmaFree. */
  maxAllocation?: number;
  /** The areas tried, in order. */
  regions: readonly string[];
  cmaTotal: number | undefined;
  cmaFree: number | undefined;
}

/** The error when contiguous memory is exhausted: an OutOfMemoryError that also says what was tried. */
export class CmaOutOfMemoryError extends OutOfMemoryError {
  /** Bytes asked for. */
  readonly requested: number;
  /** Bytes the kernel was asked for (page-rounded and padded for the alignment). */
  readonly allocated: number;
  readonly cmaFree: number | undefined;
  readonly cmaTotal: number | undefined;
  /** Each area tried and why it could not give the buffer. */
  readonly tried: ReadonlyArray<{ region: string; reason: string }>;

  constructor(
    message: string,
    fields: { requested: number; allocated: number; cmaFree: number | undefined; cmaTotal: number | undefined; tried: Array<{ region: string; reason: string }> },
    options?: DmaHeapErrorOptions,
  ) {
    super(message, options);
    this.requested = fields.requested;
    this.allocated = fields.allocated;
    this.cmaFree = fields.cmaFree;
    this.cmaTotal = fields.cmaTotal;
    this.tried = fields.tried;
  }
}

/** A heap name: a file name under the heap directory. */
const heapName: OptionCheck = (v) =>
  (typeof v === 'string' && v.length > 0 && !v.includes('/') && v !== '.' && v !== '..' && !v.includes('\0')) ||
  `a heap name (a file name under ${DMA_HEAP_DIR})`;

// The kernel's CMA heap aligns to at most 2^CONFIG_CMA_ALIGNMENT pages.
const alignOrderCheck = checks.integerIn(0, MAX_ALIGN_ORDER);

export const CMA_ALLOCATE_SPEC: Readonly<Record<string, OptionCheck>> = { ...allocateOptionChecks, alignOrder: alignOrderCheck };

const CMA_HEAP_SPEC = {
  names: checks.arrayOf(heapName),
  dir: ((v) => (typeof v === 'string' && v.length > 0) || 'a directory path') as OptionCheck,
  alignOrder: alignOrderCheck,
  locate: checks.boolean,
};

export interface CheckedOptions {
  names: string[];
  dir: string;
  alignOrder: number;
  locate: boolean;
}

export function checkOptions(options: unknown): CheckedOptions {
  const o = validateOptions<CmaHeapOptions>(options, CMA_HEAP_SPEC, 'cmaHeap options');
  return { names: [...(o.names ?? [])], dir: o.dir ?? DMA_HEAP_DIR, alignOrder: o.alignOrder ?? 0, locate: o.locate ?? false };
}

/** Bytes the kernel must be asked for so the buffer is `size` long (page-rounded) and aligned to 2^order pages. */
export function paddedLength(size: number, alignOrder: number, pageSize = PAGE_SIZE): number {
  const pages = Math.ceil(size / pageSize);
  // The kernel aligns to 2^get_order(len) pages (capped at CONFIG_CMA_ALIGNMENT); get_order(len) >= n as soon
  // as len is more than 2^(n-1) pages.
  const least = alignOrder === 0 ? 1 : 2 ** (alignOrder - 1) + 1;
  return Math.max(pages, least) * pageSize;
}

export function mib(bytes: number | undefined): string {
  if (bytes === undefined) return 'unknown';
  return bytes >= 1 << 20 ? `${+(bytes / (1 << 20)).toFixed(1)} MiB` : `${+(bytes / 1024).toFixed(1)} KiB`;
}
