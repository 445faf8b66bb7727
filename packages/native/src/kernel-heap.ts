// The kernel's own dma-buf heaps (/dev/dma_heap/<name>) as @dmaheap/core heaps, and their provider.
import { accessSync, constants as fsConstants } from 'node:fs';
import { totalmem } from 'node:os';
import {
  AbstractHeap,
  cmaAreaNames,
  cmaHeapNames,
  DEFAULT_CMA_HEAP_NAMES,
  DMA_HEAP_DIR,
  isUncachedHeapName,
  checks,
  fromSystemError,
  HeapNotFoundError,
  InvalidArgumentError,
  registerHeap,
  type AllocateOptions,
  type DmaBuf,
  type DmaBufOps,
  type HeapCapabilities,
  type HeapProvider,
  validateOptions,
} from '@dmaheap/core';
import { constants } from './binding.js';
import { bufSetName, bufSyncEnd, bufSyncStart, heapAllocAsync } from './dmabuf.js';
import { closeFd, dupFd, openDevice } from './fds.js';
import { mmapFd, munmap } from './mappings.js';
import { listDmaHeaps } from './proc.js';
import { PAGE_SIZE } from './validate.js';
import { meminfo, MemoryGuard } from './memory-guard.js';
import { unchecked } from './unchecked.js';

export { DMA_HEAP_DIR } from '@dmaheap/core';

/** The new dma-buf's fd flags. */
const BUF_FLAGS = constants.O_RDWR | constants.O_CLOEXEC;

/** The names kernels give the CMA heap of their default area (@dmaheap/core's DEFAULT_CMA_HEAP_NAMES). */
export const CMA_HEAP_NAMES = DEFAULT_CMA_HEAP_NAMES;

/**
 * A heap's new dma-buf fd made into its buffer by `make`, named first when a name is asked for: the path every
 * kernel-backed heap takes after DMA_HEAP_IOCTL_ALLOC. The fd is closed if naming or `make` throws.
 */
export function adoptNewFd<T>(fd: number, name: string | undefined, make: () => T): T {
  try {
    if (name) bufSetName(fd, name);
    return make();
  } catch (err) {
    unchecked.close(fd);
    throw err;
  }
}

/** The system calls every dma-buf needs, for DmaBuf handles of any heap. */
export const dmaBufOps: DmaBufOps = {
  mmap: (fd, length) => mmapFd(fd, { length }),
  munmap: (mapping) => munmap(mapping),
  sync: (fd, phase, mode) => (phase === 'start' ? bufSyncStart(fd, mode) : bufSyncEnd(fd, mode)),
  setName: (fd, name) => bufSetName(fd, name),
  dup: (fd) => dupFd(fd),
};

function checkHeapName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.includes('/') || name === '.' || name === '..' || name.includes('\0')) {
    throw new InvalidArgumentError(`a heap name is a file name under ${DMA_HEAP_DIR}, got ${JSON.stringify(name)}`);
  }
  return name;
}

export interface KernelHeapOptions {
  /** Where the heap nodes are. Default `/dev/dma_heap`. */
  dir?: string;
  /** MemAvailable kept free: allocations that would go below it are refused. Default 1/16 of memory, at most 256 MiB. */
  reserveBytes?: number;
}


class KernelHeap extends AbstractHeap {
  readonly name: string;
  readonly capabilities: HeapCapabilities;
  /** No pool, no deferred frees (the kernel frees when the last holder lets go); the ioctl on libuv's pool. */
  override readonly supports = { trim: false, collectDeferred: false, asyncAllocation: true } as const;
  readonly path: string;
  readonly #fd: number;
  /** The kernel's system heap takes pages until the OOM killer kills a process rather than failing; the guard
   * refuses first. CMA allocations fail cleanly with ENOMEM and need none. */
  readonly #guard: MemoryGuard | undefined;

  constructor(name: string, dir: string, reserveBytes?: number) {
    super();
    this.name = checkHeapName(name);
    this.path = `${dir}/${name}`;
    try {
      this.#fd = openDevice(this.path, constants.O_RDONLY);
    } catch (err) {
      const typed = fromSystemError(err, name, `open ${this.path}`);
      if (HeapNotFoundError.isInstance(typed)) {
        const available = listDmaHeaps(dir);
        typed.message += `; heaps under ${dir}: ${available.join(', ') || 'none'}`;
        (typed as HeapNotFoundError).available = available;
      }
      throw typed;
    }
    // A CMA heap by what the kernel says (core's kernel facts: a default name, or a heap named after a CMA
    // area, one per area since 6.19); vendors' CMA heaps named otherwise still say so in their name.
    const contiguous = cmaHeapNames([name], cmaAreaNames().names).length > 0 || /cma/i.test(name);
    this.#guard = contiguous ? undefined : new MemoryGuard(reserveBytes);
    this.capabilities = {
      contiguous,
      // The uncached variants (Android's system-uncached, vendors') map write-combined; mainline has none.
      cached: !isUncachedHeapName(name),
      maxAllocation: contiguous ? (meminfo('CmaTotal') ?? totalmem()) : totalmem(),
      alignment: PAGE_SIZE,
      backing: `kernel:${name}`,
    };
  }

  protected _allocate(size: number, options: AllocateOptions): DmaBuf {
    this.#guard?.check(size, this.name);
    return this.#buffer(unchecked.heapAlloc(this.#fd, size, BUF_FLAGS), size, options);
  }

  /** DMA_HEAP_IOCTL_ALLOC on libuv's thread pool: the event loop runs on while the kernel allocates. */
  protected override async _allocateAsync(size: number, options: AllocateOptions): Promise<DmaBuf> {
    this.#guard?.check(size, this.name);
    return this.#buffer(await heapAllocAsync(this.#fd, size, { fdFlags: BUF_FLAGS }), size, options);
  }

  #buffer(fd: number, size: number, options: AllocateOptions): DmaBuf {
    return adoptNewFd(fd, options.name, () =>
      this.buffer({ fd, size: Math.ceil(size / PAGE_SIZE) * PAGE_SIZE, ops: dmaBufOps, name: options.name, release: () => unchecked.close(fd) }),
    );
  }

  protected override _stats(): Record<string, unknown> {
    return this.capabilities.contiguous ? { cmaFree: meminfo('CmaFree'), cmaTotal: meminfo('CmaTotal') } : {};
  }

  protected override _close(): void {
    closeFd(this.#fd);
  }
}

/** Opens the kernel heap `/dev/dma_heap/<name>` (default `system`). */
export function kernelHeap(name = 'system', options: KernelHeapOptions = {}): AbstractHeap {
  const { dir, reserveBytes } = validateOptions<KernelHeapOptions>(
    options,
    { dir: checks.string, reserveBytes: checks.nonNegativeInteger },
    'kernelHeap options',
    String(name),
  );
  return new KernelHeap(name, dir ?? DMA_HEAP_DIR, reserveBytes);
}

/**
 * Serves every heap under /dev/dma_heap by its own name and as `kernel:<name>` (to ask for the kernel's heap
 * when another provider also serves the name, e.g. `openHeap(['kernel:system', 'system'])`).
 */
export const kernelHeapProvider: HeapProvider = {
  id: '@dmaheap/native',
  priority: 0,
  names: () => {
    let names: string[];
    try {
      names = listDmaHeaps(DMA_HEAP_DIR);
    } catch {
      return []; // an unreadable /dev/dma_heap must not break the registry for every other heap
    }
    return names.flatMap((n) => [n, `kernel:${n}`]);
  },
  probe: (name) => {
    const path = `${DMA_HEAP_DIR}/${name.replace(/^kernel:/, '')}`;
    try {
      accessSync(path, fsConstants.R_OK);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EACCES' ? `no permission to open ${path} (udev rules grant it)` : `${path} is missing`;
    }
  },
  open: (name) => kernelHeap(name.replace(/^kernel:/, '')),
};

registerHeap(kernelHeapProvider);
