// bufferPool(heap): a heap over any heap that recycles whole buffers of the same size. Buffers come back
// zeroed when anyone could have written them, and only once nobody else holds them (deferred free).
import {
  AbstractHeap,
  lend,
  listHeaps,
  openHeap,
  PAGE_SIZE,
  type AllocateOptions,
  type DmaBuf,
  type DmaBufOps,
  type Heap,
  type HeapCapabilities,
  type HeapProvider,
  type HeapSupports,
} from '@dmaheap/core';
import { checks, InvalidArgumentError, validateOptions } from '@dmaheap/core';
import { DeferredFrees } from './deferred.js';
import { PressureMonitor, pressureOption, type PressureOptions } from './pressure.js';

const BUFFER_POOL_SPEC = {
  maxBytes: checks.positiveInteger,
  maxPerSize: checks.nonNegativeInteger,
  sizeClasses: checks.oneOf('page', 'pow2'),
  pressure: pressureOption,
  deferredCheckMs: checks.positiveInteger,
};

export interface BufferPoolOptions {
  /** Most bytes kept in free buffers. Default 256 MiB. */
  maxBytes?: number;
  /** Most free buffers kept per size. Default 8. */
  maxPerSize?: number;
  /** Size classes: `'page'` keeps each page-rounded size apart; `'pow2'` rounds up to a power of two. Default `'page'`. */
  sizeClasses?: 'page' | 'pow2';
  /** Shrink under memory pressure (PSI). Default on where the kernel has PSI. */
  pressure?: boolean | PressureOptions;
  /** How often buffers still held elsewhere are checked again, ms. Default 100. */
  deferredCheckMs?: number;
}

/**
 * A buffer of the wrapped heap, lent to this pool (see `lend`): each allocation hands out a new handle over its
 * fd, which tracks its own mapping and sharing, so a buffer that was shared once still skips syncs (where its
 * heap does) the next time it is handed out unshared.
 */
interface Pooled {
  inner: DmaBuf;
  fd: number;
  ops: DmaBufOps;
  skipSync: boolean;
  /** A name is set on the dma-buf (cleared when it is handed out again without one). */
  named: boolean;
}

interface Deferred {
  pooled: Pooled;
  dirty: boolean;
}

class BufferPool extends AbstractHeap {
  readonly name: string;
  readonly capabilities: HeapCapabilities;
  override readonly supports: HeapSupports;
  readonly inner: Heap;
  readonly #free = new Map<number, Pooled[]>();
  readonly #deferred: DeferredFrees<Deferred>;
  readonly #maxBytes: number;
  readonly #maxPerSize: number;
  readonly #pow2: boolean;
  readonly #monitor: PressureMonitor | undefined;
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #zeroed = 0;
  #trimmedBytes = 0;
  #pressureEvents = 0;

  constructor(inner: Heap, options: BufferPoolOptions = {}) {
    super();
    this.inner = inner;
    this.name = `pool(${inner.name})`;
    this.capabilities = inner.capabilities;
    this.supports = { trim: true, collectDeferred: true, asyncAllocation: false };
    this.#maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.#maxPerSize = options.maxPerSize ?? 8;
    this.#pow2 = options.sizeClasses === 'pow2';
    this.#deferred = new DeferredFrees<Deferred>(
      (d) => heldElsewhere(d.pooled),
      (d) => this.#keep(d.pooled, d.dirty),
      options.deferredCheckMs ?? 100,
    );
    if (options.pressure !== false) {
      this.#monitor = PressureMonitor.start(typeof options.pressure === 'object' ? options.pressure : {}, () => {
        this.#pressureEvents++;
        this.trim();
      });
    }
  }

  protected _allocate(size: number, options: AllocateOptions): DmaBuf {
    // Buffers a consumer has let go of since the last check come back first (as systemHeap does).
    if (this.#deferred.pending > 0) this.#deferred.collect();
    const cls = this.#sizeClass(size);
    let pooled = this.#free.get(cls)?.pop();
    if (pooled) {
      this.#hits++;
      this.#bytes -= pooled.inner.size;
      if (options.name !== undefined || pooled.named) {
        try {
          pooled.ops.setName(pooled.fd, options.name ?? '');
        } catch (err) {
          pooled.inner.close();
          throw err;
        }
      }
    } else {
      this.#misses++;
      pooled = this.#lend(this.inner.allocate(cls, options), !!options.name);
    }
    const p = pooled;
    return this.buffer({
      fd: p.fd,
      size: p.inner.size,
      ops: p.ops,
      name: options.name,
      skipSyncUntilShared: p.skipSync,
      // A handle lost without close() is released by the finalizer like any other: its buffer comes back to the
      // pool (once nothing else holds it) and leaves the pool's count of live buffers. Registering costs nothing
      // for the handles closed in the job that allocated them (see DmaBuf).
      release: (state) => this.#recycle(p, state),
    });
  }

  /** Takes a new buffer of the wrapped heap into the pool; its handles' renames are noted, to be undone. */
  #lend(inner: DmaBuf, named: boolean): Pooled {
    const { fd, ops, skipSyncUntilShared } = lend(inner);
    const pooled: Pooled = {
      inner,
      fd,
      skipSync: skipSyncUntilShared,
      named,
      ops: {
        mmap: (f, length) => ops.mmap(f, length),
        munmap: (mapping) => ops.munmap(mapping),
        sync: (f, phase, mode) => ops.sync(f, phase, mode),
        dup: (f) => ops.dup(f),
        setName: (f, name) => {
          ops.setName(f, name);
          pooled.named = name !== '';
        },
      },
    };
    return pooled;
  }

  /** Back into the pool (zeroed if it may hold data) once nothing but the pool's fd holds it. */
  #recycle(pooled: Pooled, state: { mapped: boolean; shared: boolean }): void {
    if (this.closed) {
      pooled.inner.close(); // lent, so its own heap waits (or, closed too, leaves it to the kernel)
      return;
    }
    const dirty = state.mapped || state.shared;
    if (state.shared && heldElsewhere(pooled)) {
      this.#deferred.add({ pooled, dirty });
      return;
    }
    this.#keep(pooled, dirty);
  }

  #keep(pooled: Pooled, dirty: boolean): void {
    const { inner } = pooled;
    const list = this.#free.get(inner.size) ?? [];
    if (this.closed || this.#bytes + inner.size > this.#maxBytes || list.length >= this.#maxPerSize) {
      inner.close(); // lent, so its heap checks again that nobody holds it
      return;
    }
    if (dirty) {
      inner.withCpuAccess('write', (v) => v.fill(0));
      inner.unmap();
      this.#zeroed++;
    }
    list.push(pooled);
    this.#free.set(inner.size, list);
    this.#bytes += inner.size;
  }

  /** Recycles the deferred buffers nobody else holds any more; returns how many are still pending. */
  override collectDeferred(): number {
    return this.#deferred.collect();
  }

  /**
   * Closes free buffers until at most `targetBytes` stay pooled, then asks the wrapped heap to give back what it
   * pools itself (a systemHeap's page pool would otherwise keep the pages just freed). Returns the bytes of the
   * buffers released: counted once, though they pass through the wrapped heap's pool on their way out.
   */
  override trim(targetBytes = 0): number {
    let freed = 0;
    for (const [size, list] of [...this.#free].sort((a, b) => b[0] - a[0])) {
      while (this.#bytes > targetBytes && list.length > 0) {
        list.pop()!.inner.close();
        this.#bytes -= size;
        freed += size;
      }
    }
    this.#trimmedBytes += freed;
    this.inner.trim(0);
    return freed;
  }

  #sizeClass(size: number): number {
    const pages = Math.ceil(size / PAGE_SIZE);
    // The next power of two, by bit count: `2 ** x` is a slow Math.pow call under emulation.
    return (this.#pow2 && pages > 1 ? (1 << (32 - Math.clz32(pages - 1))) >>> 0 : pages) * PAGE_SIZE;
  }

  protected override _stats(): Record<string, unknown> {
    return {
      pooledBytes: this.#bytes,
      pooledBuffers: [...this.#free.values()].reduce((n, l) => n + l.length, 0),
      hits: this.#hits,
      misses: this.#misses,
      zeroed: this.#zeroed,
      deferredPending: this.#deferred.pending,
      trimmedBytes: this.#trimmedBytes,
      pressureEvents: this.#pressureEvents,
      inner: this.inner.stats(),
    };
  }

  protected override _close(): void {
    this.#monitor?.stop();
    this.trim(0);
    // Deferred buffers are still held by someone else; closing our fd leaves them to their holders.
    for (const d of this.#deferred.close()) d.pooled.inner.close();
    this.inner.close();
  }
}

/** Whether anything but the pool's own fd holds the dma-buf (another fd, a mapping, an importer). */
function heldElsewhere(pooled: Pooled): boolean {
  try {
    return pooled.inner.info().count > 1;
  } catch {
    return true;
  }
}

/** A heap that recycles whole buffers of `heap` (kernel or ours); it owns `heap` and closes it on close(). */
export function bufferPool(heap: Heap, options?: BufferPoolOptions): Heap {
  const h = heap as Partial<Heap> | null;
  if (typeof h !== 'object' || h === null || h.specificationVersion !== 'v1' || typeof h.allocate !== 'function') {
    throw new InvalidArgumentError('bufferPool(heap) needs a heap (an object with specificationVersion "v1" and allocate())');
  }
  return new BufferPool(heap, validateOptions<BufferPoolOptions>(options, BUFFER_POOL_SPEC, 'bufferPool options'));
}

/** A provider serving `pool:<name>` for every heap the registry lists, e.g. `openHeap('pool:system')`. */
export function bufferPoolProvider(options?: BufferPoolOptions): HeapProvider {
  const prefix = 'pool:';
  return {
    id: '@dmaheap/pagepool',
    names: () => [...new Set(listHeaps().filter((h) => !h.name.startsWith(prefix)).map((h) => prefix + h.name))],
    probe: (name) =>
      listHeaps().some((h) => prefix + h.name === name && h.available) ? true : `${name.slice(prefix.length)} is not available`,
    open: (name, opts) => bufferPool(openHeap(name.slice(prefix.length), opts), options),
  };
}
