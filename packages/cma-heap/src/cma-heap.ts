// cmaHeap(): the kernel's CMA heaps (/dev/dma_heap/<area>) as one @dmaheap/core heap. One data flow:
//   find the areas (the caller's names, then the CMA heaps the kernel has) → pad the request for the alignment
//   asked → DMA_HEAP_IOCTL_ALLOC on the first area, the next on ENOMEM (allocateAsync: each on libuv's thread
//   pool) → the buffer with its page list (and, where debugfs shows the allocator's bitmap, its physical
//   frames) → partial mappings → close unmaps and frees.
// When every area is out, one OutOfMemoryError says what was asked, what CmaFree had and what was tried.
import { accessSync, constants as fsConstants } from 'node:fs';
import {
  AbstractHeap,
  ClosedError,
  cmaAreaNames,
  cmaHeapNames,
  DEFAULT_CMA_HEAP_NAMES,
  DmaHeapError,
  fromSystemError,
  HeapNotFoundError,
  kernelCmaHeaps,
  type AllocateOptions,
  type Heap,
  type HeapProvider,
  type PageList,
} from '@dmaheap/core';
import { adoptNewFd, closeFd, constants, DMA_HEAP_DIR, dmaBufOps, heapAllocAsync, listDmaHeaps, meminfo as readMeminfo, openDevice, PAGE_SIZE, unchecked } from '@dmaheap/native';
import { CmaBuffer, unmapAll, type CmaPlacement, type Ranges } from './cma-buffer.js';
import {
  checkOptions,
  CMA_ALLOCATE_SPEC,
  CmaOutOfMemoryError,
  LARGE_REQUEST,
  mib,
  paddedLength,
  type CheckedOptions,
  type CmaAllocateOptions,
  type CmaCapabilities,
  type CmaHeapOptions,
} from './options.js';
import { isCmaArea, newRun, pfnAlignmentOrder, readCmaArea, readCmaBitmap, readCmaMeminfo } from './regions.js';

/** The new dma-buf's fd flags. */
const BUF_FLAGS = constants.O_RDWR | constants.O_CLOEXEC;

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

type Tried = Array<{ region: string; reason: string }>;

/** What an area's DMA_HEAP_IOCTL_ALLOC gave: the new fd, or its error. */
type Answer = { fd: number } | { error: unknown };

class CmaHeap extends AbstractHeap<CmaAllocateOptions, CmaBuffer> {
  readonly name: string;
  /** No pool, no deferred frees (the kernel frees when the last holder lets go); the ioctls on libuv's pool. */
  override readonly supports = { trim: false, collectDeferred: false, asyncAllocation: true } as const;
  readonly #regions: Region[];
  readonly #alignOrder: number;
  readonly #locate: boolean;
  #fallbacks = 0;
  protected override readonly allocateOptions = CMA_ALLOCATE_SPEC;

  constructor(options: CheckedOptions) {
    super();
    this.#alignOrder = options.alignOrder;
    this.#locate = options.locate;
    // The caller's names, then the CMA heaps the kernel has (core's kernel facts: by its CMA areas and the
    // default names), then the default names, so a refusal says what was looked for.
    const heaps = listDmaHeaps(options.dir);
    const wanted = [...new Set([...options.names, ...cmaHeapNames(heaps, cmaAreaNames().names), ...DEFAULT_CMA_HEAP_NAMES])];
    const present = new Set(heaps);
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
    return this.#finish(this.#take(size, options.alignOrder ?? this.#alignOrder), options);
  }

  /** `_allocate` with each DMA_HEAP_IOCTL_ALLOC on libuv's thread pool: the event loop runs on while the kernel migrates pages out of the area and clears them. */
  protected override async _allocateAsync(size: number, options: CmaAllocateOptions): Promise<CmaBuffer> {
    return this.#finish(await this.#takeAsync(size, options.alignOrder ?? this.#alignOrder), options);
  }

  /**
   * The areas to ask, in order: yields each area that is not skipped and the length to ask it for, and takes back
   * what its DMA_HEAP_IOCTL_ALLOC gave (the sync and the async allocation drive it, each with its own ioctl).
   * Returns the new dma-buf at the first area that gave one; CmaOutOfMemoryError when every area is out.
   */
  *#areas(size: number, alignOrder: number): Generator<{ region: Region; length: number }, Taken, Answer> {
    const length = paddedLength(size, alignOrder);
    const tried: Tried = [];
    for (const [index, region] of this.#regions.entries()) {
      // Closed while the last area was tried (allocateAsync): its fds are gone.
      if (this.closed) throw new ClosedError(`allocate() on closed heap "${this.name}"`, { heap: this.name });
      const skip = this.#skip(region, length);
      if (skip !== undefined) {
        tried.push({ region: region.name, reason: skip });
        continue;
      }
      const before = this.#bitmap(region);
      const answer = yield { region, length };
      if ('fd' in answer) return { fd: answer.fd, index, region, length, alignOrder, before };
      tried.push({ region: region.name, reason: this.#failed(region, answer.error) });
    }
    throw this.#exhausted(size, length, alignOrder, tried);
  }

  /** {@link #areas} with each ioctl made here. */
  #take(size: number, alignOrder: number): Taken {
    const areas = this.#areas(size, alignOrder);
    for (let step = areas.next(); ; ) {
      if (step.done) return step.value;
      let answer: Answer;
      try {
        answer = { fd: unchecked.heapAlloc(step.value.region.fd, step.value.length, BUF_FLAGS) };
      } catch (error) {
        answer = { error };
      }
      step = areas.next(answer);
    }
  }

  /** {@link #areas} with each ioctl on libuv's thread pool. */
  async #takeAsync(size: number, alignOrder: number): Promise<Taken> {
    const areas = this.#areas(size, alignOrder);
    for (let step = areas.next(); ; ) {
      if (step.done) return step.value;
      let answer: Answer;
      try {
        answer = { fd: await heapAllocAsync(step.value.region.fd, step.value.length, { fdFlags: BUF_FLAGS }) };
      } catch (error) {
        answer = { error };
      }
      step = areas.next(answer);
    }
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

  /** The buffer of a new dma-buf: where it landed, its name, the counts (the fd closed if any of it fails). */
  #finish(taken: Taken, options: AllocateOptions): CmaBuffer {
    const { fd, index, region, length, alignOrder, before } = taken;
    return adoptNewFd(fd, options.name, () => {
      const placement = this.#placement(region, before, length, alignOrder);
      region.allocations++;
      if (index > 0) this.#fallbacks++;
      return this.#buffer(fd, length, region, placement, options.name);
    });
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
 * Opens the kernel's CMA heaps as one heap: the names in `options.names` first, then the CMA heaps the kernel has
 * (found by its CMA areas and the default names `default_cma_region`, `linux,cma`, `reserved`); an allocation falls back from one to the next when one is out of
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
  names: () => kernelCmaHeaps(),
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
