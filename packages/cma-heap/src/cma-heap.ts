// cmaHeap(): the kernel's CMA heaps (/dev/dma_heap/<area>) as one @dmaheap/core heap. One data flow:
//   find the areas (every name kernels give them, plus the caller's) → pad the request for the alignment asked
//   → DMA_HEAP_IOCTL_ALLOC on the first area, the next on ENOMEM (allocateAsync: each on libuv's thread pool)
//   → the buffer with its page list (and, where debugfs shows the allocator's bitmap, its physical frames)
//   → partial mappings → close unmaps and frees.
// When every area is out, one OutOfMemoryError says what was asked, what CmaFree had and what was tried.
import { accessSync, constants as fsConstants } from 'node:fs';
import {
  AbstractHeap,
  allocateOptionChecks,
  checks,
  ClosedError,
  DmaBuf,
  DmaHeapError,
  fromSystemError,
  HeapNotFoundError,
  InvalidArgumentError,
  OutOfMemoryError,
  validateAllocateOptions,
  validateOptions,
  validateSize,
  type AllocateOptions,
  type DmaBufInit,
  type DmaHeapErrorOptions,
  type Heap,
  type HeapCapabilities,
  type HeapProvider,
  type OptionCheck,
  type PageList,
} from '@dmaheap/core';
import {
  bufSetName,
  CMA_HEAP_NAMES,
  closeFd,
  constants,
  DMA_HEAP_DIR,
  dmaBufOps,
  heapAllocAsync,
  listDmaHeaps,
  meminfo as readMeminfo,
  mmapFd,
  munmap,
  openDevice,
  PAGE_SIZE,
  unchecked,
} from '@dmaheap/native';
import { isCmaArea, newRun, pfnAlignmentOrder, readCmaArea, readCmaBitmap, readCmaMeminfo } from './regions.js';

/**
 * The kernel's CMA heap aligns each buffer to 2^min(get_order(size), CONFIG_CMA_ALIGNMENT) pages, and
 * CONFIG_CMA_ALIGNMENT is 8 (1 MiB) unless a vendor changed it: no alignment above that can be asked for.
 */
export const MAX_ALIGN_ORDER = 8;

/** Requests from this size on, to an area that is not CMA (a stand-in), are checked against MemAvailable first. */
const LARGE_REQUEST = 64 * 1024 * 1024;

/** The new dma-buf's fd flags. */
const BUF_FLAGS = constants.O_RDWR | constants.O_CLOEXEC;

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

/** What userspace could see of where a buffer landed in physical memory. */
export type CmaPlacement =
  | {
      /** The buffer's pages are one run of consecutive frames, seen in the CMA allocator's bitmap. */
      contiguous: true;
      firstPfn: bigint;
      /** The alignment of the first frame, as an order of pages (the largest power of two dividing it). */
      alignOrder: number;
    }
  | {
      /** Not seen: why (not asked for, no debugfs, an allocation raced with it, not a CMA area). */
      contiguous: undefined;
      reason: string;
    };

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

const CMA_ALLOCATE_SPEC: Readonly<Record<string, OptionCheck>> = { ...allocateOptionChecks, alignOrder: alignOrderCheck };

const CMA_HEAP_SPEC = {
  names: checks.arrayOf(heapName),
  dir: ((v) => (typeof v === 'string' && v.length > 0) || 'a directory path') as OptionCheck,
  alignOrder: alignOrderCheck,
  locate: checks.boolean,
};

interface CheckedOptions {
  names: string[];
  dir: string;
  alignOrder: number;
  locate: boolean;
}

function checkOptions(options: unknown): CheckedOptions {
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

function mib(bytes: number | undefined): string {
  if (bytes === undefined) return 'unknown';
  return bytes >= 1 << 20 ? `${+(bytes / (1 << 20)).toFixed(1)} MiB` : `${+(bytes / 1024).toFixed(1)} KiB`;
}

/** Partial mappings of one buffer, shared between the buffer and its release (which must not refer to it). */
type Ranges = Map<string, ArrayBuffer>;

function unmapAll(ranges: Ranges): void {
  for (const mapping of ranges.values()) munmap(mapping);
  ranges.clear();
}

/** What a CmaBuffer knows beyond a DmaBuf. */
interface CmaBufferParts {
  region: string;
  pageList: PageList;
  placement: CmaPlacement;
  ranges: Ranges;
}

/** A buffer from {@link cmaHeap}: a DmaBuf that also knows its pages and maps page ranges of itself. */
export class CmaBuffer extends DmaBuf {
  /** The heap (CMA area) it came from. */
  readonly region: string;
  /** Its pages, in order: one contiguous block (with the frame numbers when they could be seen). */
  readonly pageList: PageList;
  /** Where it landed, when userspace could see it (option `locate`). */
  readonly placement: CmaPlacement;
  readonly #rawFd: number;
  readonly #ranges: Ranges;

  constructor(init: DmaBufInit, parts: CmaBufferParts) {
    super(init);
    this.#rawFd = init.fd;
    this.region = parts.region;
    this.pageList = parts.pageList;
    this.placement = parts.placement;
    this.#ranges = parts.ranges;
  }

  /**
   * `map()`: the whole buffer, one mapping reused until `unmap()`. `map(offset, length)`: only the pages
   * holding bytes `offset` to `offset + length` are mapped (a 64 MiB buffer need not be mapped whole to touch one
   * line); the view is exactly those `length` bytes. A range mapped again is the same mapping. Every mapping
   * is unmapped by `unmap()` and when the buffer closes. Bracket CPU access with `beginCpuAccess` as for the whole.
   */
  override map(offset?: number, length?: number): Uint8Array {
    if (offset === undefined && length === undefined) return super.map();
    if (this.closed) {
      throw new ClosedError(`map() on a closed dma-buf from heap "${this.heap.name}"`, { heap: this.heap.name });
    }
    const off = offset ?? 0;
    const len = length ?? this.size - off;
    if (!Number.isSafeInteger(off) || off < 0 || !Number.isSafeInteger(len) || len <= 0 || off + len > this.size) {
      throw new InvalidArgumentError(
        `map(offset, length) needs integers with 0 <= offset, 0 < length and offset + length <= ${this.size} (the buffer's size), got ${String(offset)}, ${String(length)}`,
        { heap: this.heap.name },
      );
    }
    const first = Math.floor(off / PAGE_SIZE) * PAGE_SIZE;
    const end = Math.ceil((off + len) / PAGE_SIZE) * PAGE_SIZE;
    const key = `${first}:${end}`;
    let mapping = this.#ranges.get(key);
    if (!mapping) {
      try {
        mapping = mmapFd(this.#rawFd, { offset: first, length: end - first });
      } catch (err) {
        throw fromSystemError(err, this.heap.name, 'map');
      }
      this.#ranges.set(key, mapping);
    }
    return new Uint8Array(mapping, off - first, len);
  }

  /**
   * `unmap()`: unmaps the whole-buffer mapping and every range (their views become detached, length 0).
   * `unmap(view)`: only the range mapping behind `view`. Harmless when not mapped.
   */
  override unmap(view?: Uint8Array): void {
    if (view === undefined) {
      try {
        super.unmap();
      } finally {
        unmapAll(this.#ranges);
      }
      return;
    }
    for (const [key, mapping] of this.#ranges) {
      if (mapping === view.buffer) {
        this.#ranges.delete(key);
        munmap(mapping);
        return;
      }
    }
    // The whole-buffer view, or one already unmapped (detached: its buffer has length 0).
    if (this.mapped && view.buffer === super.map().buffer) super.unmap();
  }

  /** Page ranges mapped now (not counting the whole-buffer mapping). */
  get mappedRanges(): number {
    return this.#ranges.size;
  }
}

interface Region {
  name: string;
  fd: number;
  /** Known to be a CMA area (sysfs/debugfs), or assumed (a standard CMA name, or named by the caller) when the kernel lists no areas. */
  cma: boolean;
  allocations: number;
}

/** An area's new dma-buf, before it is a buffer. */
interface Taken {
  fd: number;
  /** Which area gave it, in the order tried (0: no fallback). */
  index: number;
  region: Region;
  /** Its padded length, and the alignment it was padded for. */
  length: number;
  alignOrder: number;
  /** The allocator's bitmap read before the ioctl (option locate). */
  before: Uint32Array | undefined;
}

/** What an allocation on the thread pool gave, for the allocate() that wraps it (see allocateAsync). */
type Prepared = Taken | { error: unknown };

type Tried = Array<{ region: string; reason: string }>;

class CmaHeap extends AbstractHeap<CmaAllocateOptions, CmaBuffer> {
  readonly name: string;
  /** No pool, no deferred frees (the kernel frees when the last holder lets go); the ioctls on libuv's pool. */
  override readonly supports = { trim: false, collectDeferred: false, asyncAllocation: true } as const;
  readonly #regions: Region[];
  readonly #alignOrder: number;
  readonly #locate: boolean;
  #fallbacks = 0;
  /** Set by allocateAsync for the allocate() call it makes at once: `_allocate` takes it instead of allocating. */
  #prepared: Prepared | undefined;
  protected override readonly allocateOptions = CMA_ALLOCATE_SPEC;

  constructor(options: CheckedOptions) {
    super();
    this.#alignOrder = options.alignOrder;
    this.#locate = options.locate;
    const wanted = [...new Set([...options.names, ...CMA_HEAP_NAMES])];
    const present = new Set(listDmaHeaps(options.dir));
    const names = wanted.filter((n) => present.has(n));
    if (names.length === 0) {
      const available = [...present];
      const err = new HeapNotFoundError(
        `no CMA heap under ${options.dir}: looked for ${wanted.join(', ')}; present: ${available.join(', ') || 'none'}` +
          (!(readCmaMeminfo().total! > 0) ? ' (this kernel has no CMA heap: it needs CONFIG_DMABUF_HEAPS_CMA and a CMA area, e.g. cma=256M on its command line)' : ''),
        { heap: 'cma' },
      );
      err.available = available;
      throw err;
    }
    this.#regions = [];
    try {
      for (const name of names) {
        let fd: number;
        try {
          fd = openDevice(`${options.dir}/${name}`, constants.O_RDONLY);
        } catch (err) {
          throw fromSystemError(err, name, `open ${options.dir}/${name}`);
        }
        this.#regions.push({ name, fd, cma: isCmaArea(name) ?? true, allocations: 0 });
      }
    } catch (err) {
      for (const r of this.#regions) closeFd(r.fd);
      throw err;
    }
    this.name = `cma(${names.join(',')})`;
  }

  get capabilities(): CmaCapabilities {
    const meminfo = readCmaMeminfo();
    let largest: number | undefined;
    for (const r of this.#regions) {
      const chunk = r.cma ? readCmaArea(r.name).maxChunkPages : undefined;
      if (chunk !== undefined) largest = Math.max(largest ?? 0, chunk * PAGE_SIZE);
    }
    largest ??= meminfo.free;
    return {
      contiguous: this.#regions.every((r) => r.cma),
      cached: true,
      ...(largest !== undefined ? { maxAllocation: largest } : {}),
      alignment: PAGE_SIZE * 2 ** this.#alignOrder,
      backing: 'kernel:cma',
      regions: this.#regions.map((r) => r.name),
      cmaTotal: meminfo.total,
      cmaFree: meminfo.free,
    };
  }

  /** No size is refused before the kernel is asked: running out is a CmaOutOfMemoryError that says what was tried. */
  protected override sizeLimit(): number | undefined {
    return undefined;
  }

  protected _allocate(size: number, options: CmaAllocateOptions): CmaBuffer {
    const prepared = this.#prepared;
    this.#prepared = undefined;
    if (prepared !== undefined && 'error' in prepared) throw prepared.error;
    return this.#finish(prepared ?? this.#take(size, options.alignOrder ?? this.#alignOrder), options);
  }

  /**
   * allocate() with each DMA_HEAP_IOCTL_ALLOC on libuv's thread pool: the event loop runs on while the kernel
   * migrates pages out of the area and clears them. allocate()'s checks come first, so bad input rejects with the
   * same typed errors before any ioctl; then the areas in order, as allocate() tries them; then allocate() itself
   * makes the buffer of the fd (or throws the error), so the counts and typed errors are allocate()'s own. A heap
   * closed meanwhile rejects with ClosedError and closes the new fd.
   */
  override async allocateAsync(size: number, options?: CmaAllocateOptions): Promise<CmaBuffer> {
    if (this.closed) throw new ClosedError(`allocate() on closed heap "${this.name}"`, { heap: this.name });
    validateSize(size, this.name, this.sizeLimit());
    const checked = validateAllocateOptions(options, this.name, this.allocateOptions) as CmaAllocateOptions;
    let prepared: Prepared;
    try {
      prepared = await this.#takeAsync(size, checked.alignOrder ?? this.#alignOrder);
    } catch (error) {
      prepared = { error };
    }
    this.#prepared = prepared;
    try {
      return this.allocate(size, options);
    } finally {
      const left = this.#prepared; // allocate() refused before _allocate: the heap was closed meanwhile
      this.#prepared = undefined;
      if (left !== undefined && 'fd' in left) unchecked.close(left.fd);
    }
  }

  /** DMA_HEAP_IOCTL_ALLOC on the first area, the next on ENOMEM; CmaOutOfMemoryError when every area is out. */
  #take(size: number, alignOrder: number): Taken {
    const length = paddedLength(size, alignOrder);
    const tried: Tried = [];
    for (const [index, region] of this.#regions.entries()) {
      const skip = this.#skip(region, length);
      if (skip !== undefined) {
        tried.push({ region: region.name, reason: skip });
        continue;
      }
      const before = this.#bitmap(region);
      try {
        return { fd: unchecked.heapAlloc(region.fd, length, BUF_FLAGS), index, region, length, alignOrder, before };
      } catch (err) {
        tried.push({ region: region.name, reason: this.#failed(region, err) });
      }
    }
    throw this.#exhausted(size, length, alignOrder, tried);
  }

  /** {@link #take} with each ioctl on libuv's thread pool. */
  async #takeAsync(size: number, alignOrder: number): Promise<Taken> {
    const length = paddedLength(size, alignOrder);
    const tried: Tried = [];
    for (const [index, region] of this.#regions.entries()) {
      // Closed while the last area was tried: its fds are gone (allocate() then rejects with ClosedError).
      if (this.closed) throw new ClosedError(`allocate() on closed heap "${this.name}"`, { heap: this.name });
      const skip = this.#skip(region, length);
      if (skip !== undefined) {
        tried.push({ region: region.name, reason: skip });
        continue;
      }
      const before = this.#bitmap(region);
      try {
        return { fd: await heapAllocAsync(region.fd, length, { fdFlags: BUF_FLAGS }), index, region, length, alignOrder, before };
      } catch (err) {
        tried.push({ region: region.name, reason: this.#failed(region, err) });
      }
    }
    throw this.#exhausted(size, length, alignOrder, tried);
  }

  /** Why `region` is not asked for `length` bytes, or undefined. */
  #skip(region: Region, length: number): string | undefined {
    if (region.cma || length < LARGE_REQUEST) return undefined;
    // A stand-in that is not CMA (e.g. the system heap) takes pages until the OOM killer strikes.
    const available = readMeminfo('MemAvailable');
    return available !== undefined && length > available ? `MemAvailable is ${mib(available)}` : undefined;
  }

  /** The allocator's bitmap of `region` now, when buffers are located. */
  #bitmap(region: Region): Uint32Array | undefined {
    return this.#locate && region.cma ? readCmaBitmap(region.name) : undefined;
  }

  /** Why `region` refused: ENOMEM, and its largest free run where debugfs shows it. Any other error is thrown, typed. */
  #failed(region: Region, err: unknown): string {
    if ((err as NodeJS.ErrnoException).code !== 'ENOMEM') throw fromSystemError(err, region.name, 'allocate');
    const chunk = region.cma ? readCmaArea(region.name).maxChunkPages : undefined;
    return `ENOMEM${chunk !== undefined ? ` (largest free run ${mib(chunk * PAGE_SIZE)})` : ''}`;
  }

  #exhausted(size: number, length: number, alignOrder: number, tried: Tried): CmaOutOfMemoryError {
    const meminfo = readCmaMeminfo();
    const align = alignOrder > 0 ? `, aligned to ${mib(PAGE_SIZE * 2 ** alignOrder)}` : '';
    return new CmaOutOfMemoryError(
      `contiguous memory exhausted: ${size} bytes asked (${length / PAGE_SIZE} page${length === PAGE_SIZE ? '' : 's'}${align}); ` +
        `CmaFree ${mib(meminfo.free)} of CmaTotal ${mib(meminfo.total)}; tried ${tried.map((t) => `${t.region}: ${t.reason}`).join(', ')}`,
      { requested: size, allocated: length, cmaFree: meminfo.free, cmaTotal: meminfo.total, tried },
      { heap: this.name },
    );
  }

  /** The buffer of a new dma-buf: where it landed, its name, the counts. */
  #finish(taken: Taken, options: AllocateOptions): CmaBuffer {
    const { fd, index, region, length, alignOrder, before } = taken;
    try {
      const placement = this.#placement(region, before, length, alignOrder);
      if (options.name) bufSetName(fd, options.name);
      region.allocations++;
      if (index > 0) this.#fallbacks++;
      return this.#buffer(fd, length, region, placement, options.name);
    } catch (err) {
      unchecked.close(fd);
      throw err;
    }
  }

  /** Where the buffer landed, from the bitmap read before the allocation and the one read now. */
  #placement(region: Region, before: Uint32Array | undefined, length: number, alignOrder: number): CmaPlacement {
    if (!this.#locate) return { contiguous: undefined, reason: 'not located (option locate)' };
    if (!region.cma) return { contiguous: undefined, reason: `"${region.name}" is not a CMA area` };
    const info = readCmaArea(region.name);
    const after = readCmaBitmap(region.name);
    if (!before || !after || info.basePfn === undefined || info.orderPerBit === undefined) {
      return { contiguous: undefined, reason: `the CMA allocator's bitmap is not readable (debugfs at /sys/kernel/debug/cma/${region.name}: root, mounted, CONFIG_CMA_DEBUGFS)` };
    }
    const run = newRun(before, after);
    const pages = length / PAGE_SIZE;
    if (!run || run.bits << info.orderPerBit < pages || (run.bits - 1) << info.orderPerBit >= pages) {
      return { contiguous: undefined, reason: 'another allocation changed the bitmap at the same time' };
    }
    const firstPfn = BigInt(info.basePfn) + (BigInt(run.firstBit) << BigInt(info.orderPerBit));
    const order = pfnAlignmentOrder(firstPfn);
    if (order < alignOrder) {
      // The kernel caps alignment at CONFIG_CMA_ALIGNMENT: a kernel built with less than 8 cannot give this.
      throw new DmaHeapError(
        'ERR_DMAHEAP_SYSTEM',
        `the kernel placed the buffer at frame ${firstPfn}, aligned to 2^${order} pages, not the 2^${alignOrder} asked (is CONFIG_CMA_ALIGNMENT below ${alignOrder}?)`,
        { heap: this.name },
      );
    }
    return { contiguous: true, firstPfn, alignOrder: order };
  }

  #buffer(fd: number, size: number, region: Region, placement: CmaPlacement, name: string | undefined): CmaBuffer {
    const count = size / PAGE_SIZE;
    const pageList: PageList = placement.contiguous
      ? { pageSize: PAGE_SIZE, count, pfns: Array.from({ length: count }, (_, i) => placement.firstPfn + BigInt(i)) }
      : { pageSize: PAGE_SIZE, count };
    const ranges: Ranges = new Map();
    return this.buffer(
      {
        fd,
        size,
        ops: dmaBufOps,
        name,
        // Before its fd is read or duplicated, no device can be attached: CPU-access brackets skip the ioctl.
        skipSyncUntilShared: true,
        // The kernel frees the memory once nothing holds the dma-buf: nothing of the heap's is touched here.
        release: () => {
          try {
            unmapAll(ranges);
          } finally {
            unchecked.close(fd);
          }
        },
      },
      (init) => new CmaBuffer(init, { region: region.name, pageList, placement, ranges }),
    );
  }

  protected override _stats(): Record<string, unknown> {
    const meminfo = readCmaMeminfo();
    return {
      fallbacks: this.#fallbacks,
      regions: Object.fromEntries(this.#regions.map((r) => [r.name, { allocations: r.allocations, cma: r.cma }])),
      cmaTotal: meminfo.total,
      cmaFree: meminfo.free,
    };
  }

  protected override _close(): void {
    for (const r of this.#regions) closeFd(r.fd);
  }
}

/** The heap type {@link cmaHeap} returns. */
export interface CmaHeapInstance extends Heap {
  readonly capabilities: CmaCapabilities;
  allocate(size: number, options?: CmaAllocateOptions): CmaBuffer;
  allocateAsync(size: number, options?: CmaAllocateOptions): Promise<CmaBuffer>;
}

/**
 * Opens the kernel's CMA heaps as one heap: the names in `options.names` first, then `default_cma_region`,
 * `linux,cma` and `reserved`, whichever exist; an allocation falls back from one to the next when one is out of
 * memory. Throws HeapNotFoundError (listing the heaps present) when there is none.
 */
export function cmaHeap(options?: CmaHeapOptions): CmaHeapInstance {
  return new CmaHeap(checkOptions(options));
}

/**
 * Serves the kernel's CMA heaps by their own names ahead of `@dmaheap/native` (priority 10), so
 * `openHeap('cma')` gives a {@link cmaHeap}: the named area first, then the others.
 */
export const cmaHeapProvider: HeapProvider = {
  id: '@dmaheap/cma-heap',
  priority: 10,
  names: () => listDmaHeaps(DMA_HEAP_DIR).filter((n) => (CMA_HEAP_NAMES as readonly string[]).includes(n) || isCmaArea(n) === true),
  probe: (name) => {
    const path = `${DMA_HEAP_DIR}/${name}`;
    try {
      accessSync(path, fsConstants.R_OK);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EACCES' ? `no permission to open ${path} (udev rules grant it)` : `${path} is missing`;
    }
  },
  open: (name, options) => {
    const o = checkOptions(options);
    return new CmaHeap({ ...o, names: [name, ...o.names] });
  },
};
