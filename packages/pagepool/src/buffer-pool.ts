// bufferPool(heap): a heap over any heap that recycles whole buffers of the same size. Buffers come back
// zeroed when anyone could have written them, and only once nobody else holds them (deferred free).
import {
  AbstractHeap,
  listHeaps,
  openHeap,
  type AllocateOptions,
  type DmaBuf,
  type Heap,
  type HeapCapabilities,
  type HeapProvider,
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

interface Deferred {
  inner: DmaBuf;
  dirty: boolean;
}

const PAGE = 4096;

class BufferPool extends AbstractHeap {
  readonly name: string;
  readonly capabilities: HeapCapabilities;
  readonly inner: Heap;
  readonly #free = new Map<number, DmaBuf[]>();
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
    this.#maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.#maxPerSize = options.maxPerSize ?? 8;
    this.#pow2 = options.sizeClasses === 'pow2';
    this.#deferred = new DeferredFrees<Deferred>(
      (d) => this.#heldElsewhere(d.inner),
      (d) => this.#keep(d.inner, d.dirty),
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
    const cls = this.#sizeClass(size);
    const inner = this.#free.get(cls)?.pop();
    let buf: DmaBuf;
    if (inner) {
      this.#hits++;
      this.#bytes -= inner.size;
      buf = inner;
      if (options.name !== undefined || buf.name) buf.setName(options.name ?? '');
    } else {
      this.#misses++;
      buf = this.inner.allocate(cls, options);
    }
    return this.#wrap(buf, options.name);
  }

  /**
   * The pooled buffer as seen by the caller: the inner buffer's calls, with this pool's release. The inner fd
   * is asked for only when the caller reads `fd`, so the inner buffer counts as shared exactly when the outer does.
   */
  #wrap(inner: DmaBuf, name: string | undefined): DmaBuf {
    return this.buffer({
      fd: () => inner.fd,
      size: inner.size,
      ops: {
        mmap: () => inner.map().buffer as ArrayBuffer,
        munmap: () => inner.unmap(),
        sync: (_fd, phase, mode) => (phase === 'start' ? inner.beginCpuAccess(mode) : inner.endCpuAccess(mode)),
        setName: (_fd, n) => inner.setName(n),
        dup: () => inner.dup(),
      },
      name,
      release: (state) => this.#recycle(inner, state.mapped || state.shared),
    });
  }

  /** Back into the pool, zeroed if it could have been written, once nobody else holds it. */
  #recycle(inner: DmaBuf, dirty: boolean): void {
    inner.unmap();
    if (dirty && this.#heldElsewhere(inner)) {
      this.#deferred.add({ inner, dirty });
      return;
    }
    this.#keep(inner, dirty);
  }

  #heldElsewhere(inner: DmaBuf): boolean {
    try {
      return inner.info().count > 1;
    } catch {
      return true;
    }
  }

  #keep(inner: DmaBuf, dirty: boolean): void {
    const list = this.#free.get(inner.size) ?? [];
    if (this.closed || this.#bytes + inner.size > this.#maxBytes || list.length >= this.#maxPerSize) {
      inner.close();
      return;
    }
    if (dirty) {
      inner.withCpuAccess('write', (v) => v.fill(0));
      inner.unmap();
      this.#zeroed++;
    }
    list.push(inner);
    this.#free.set(inner.size, list);
    this.#bytes += inner.size;
  }

  /** Recycles the deferred buffers nobody else holds any more; returns how many are still pending. */
  collectDeferred(): number {
    return this.#deferred.collect();
  }

  /**
   * Closes free buffers until at most `targetBytes` stay pooled, then asks the wrapped heap to give back what it
   * pools itself (a systemHeap's page pool would otherwise keep the pages just freed). Returns the bytes of the
   * buffers released: counted once, though they pass through the wrapped heap's pool on their way out.
   */
  trim(targetBytes = 0): number {
    let freed = 0;
    for (const [size, list] of [...this.#free].sort((a, b) => b[0] - a[0])) {
      while (this.#bytes > targetBytes && list.length > 0) {
        list.pop()!.close();
        this.#bytes -= size;
        freed += size;
      }
    }
    this.#trimmedBytes += freed;
    (this.inner as Heap & { trim?: (target?: number) => number }).trim?.(0);
    return freed;
  }

  #sizeClass(size: number): number {
    const pages = Math.ceil(size / PAGE);
    // The next power of two, by bit count: `2 ** x` is a slow Math.pow call under emulation.
    return (this.#pow2 && pages > 1 ? (1 << (32 - Math.clz32(pages - 1))) >>> 0 : pages) * PAGE;
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
    for (const d of this.#deferred.close()) d.inner.close();
    this.inner.close();
  }
}

/** A heap that recycles whole buffers of `heap` (kernel or ours); it owns `heap` and closes it on close(). */
export function bufferPool(heap: Heap, options?: BufferPoolOptions): Heap & {
  trim(targetBytes?: number): number;
  collectDeferred(): number;
} {
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
