// The system heap of the 2020 patch series, in userspace. One data flow:
//   allocate: largest orders first (from the page pool, else carved from a memfd arena), never climbing back up
//     → scatter-gather table (chunks sorted, adjacent ones merged) → one dma-buf with UDMABUF_CREATE_LIST
//   CPU access: no DMA_BUF_IOCTL_SYNC until the buffer may have been shared (skip sync if not mapped)
//   release: wait until nobody else holds the dma-buf (deferred free) → zero what may hold data → page pool;
//     after close(), only the buffer's own fd is closed and its pages go back to the kernel with it
import { accessSync, constants as fs } from 'node:fs';
import { totalmem } from 'node:os';
import {
  AbstractHeap,
  checks,
  InvalidArgumentError,
  LimitExceededError,
  OutOfMemoryError,
  registerHeap,
  type AllocateOptions,
  type DmaBuf,
  type HeapCapabilities,
  type HeapProvider,
  type HeapSupports,
  type ReleaseState,
  validateName,
  validateOptions,
} from '@dmaheap/core';
import { closeFd, constants, dmaBufOps, MemoryGuard, openDevice, PAGE_SIZE, readFdInfo, readUdmabufLimits, udmabufCreate, unchecked } from '@dmaheap/native';
import { DeferredFrees, PagePool, pagePoolSettings, type PagePoolOptions } from '@dmaheap/pagepool';
import { Arena } from './arena.js';

export interface SystemHeapOptions {
  /** Heap name. Default `system`. */
  name?: string;
  /** Chunk orders to use, largest first (4 KiB pages: 8 = 1 MiB, 4 = 64 KiB, 0 = 4 KiB). Default `[8, 4, 0]`. */
  orders?: number[];
  /**
   * The page pool, or `false` to give every chunk back to the kernel on free (the seed's baseline). A
   * `lowWatermark` (bytes per order) makes the heap refill the pool in the background, as Qualcomm's heap does.
   */
  pool?: false | Omit<PagePoolOptions<Chunk>, 'orders' | 'release' | 'refill' | 'pageSize'>;
  /** Skip CPU-access syncs until the buffer may have been shared. Default true. */
  skipSync?: boolean;
  /** When chunks that may hold data are zeroed: as they are freed (default) or as they are allocated again. */
  zero?: 'on-free' | 'on-alloc';
  /** Address space of one memfd arena. Default 1 GiB (sparse: memory is used only by pages in use or pooled). */
  arenaBytes?: number;
  /** Most bytes of arena address space in all. Default: the machine's memory. */
  maxBytes?: number;
  /** How often buffers still held elsewhere are checked again, ms. Default 100. */
  deferredCheckMs?: number;
  /** MemAvailable kept free: fresh chunks that would go below it are refused. Default 1/16 of memory, at most 256 MiB. */
  reserveBytes?: number;
}

/** A piece of an arena: `2^order` pages at `offset`. */
export interface Chunk {
  arena: Arena;
  offset: number;
  order: number;
  /** May hold data from an earlier buffer (only with `zero: 'on-alloc'`). */
  dirty: boolean;
}

interface Deferred {
  fd: number;
  chunks: Chunk[];
  dirty: boolean;
}

export const DEFAULT_ORDERS = [8, 4, 0];

const SPEC = {
  name: checks.string,
  // Up to order 10 (4 MiB chunks): larger ones would leave most of a 64 MiB udmabuf in a handful of ranges anyway.
  orders: checks.arrayOf(checks.integerIn(0, 10), { min: 1 }),
  pool: checks.either(checks.oneOf(false), checks.object(pagePoolSettings)),
  skipSync: checks.boolean,
  zero: checks.oneOf('on-free', 'on-alloc'),
  arenaBytes: checks.positiveInteger,
  maxBytes: checks.positiveInteger,
  deferredCheckMs: checks.positiveInteger,
  reserveBytes: checks.nonNegativeInteger,
};

class SystemHeap extends AbstractHeap {
  readonly name: string;
  readonly capabilities: HeapCapabilities;
  override readonly supports: HeapSupports;
  readonly orders: readonly number[];
  readonly #dev: number;
  readonly #listLimit: number;
  readonly #pool: PagePool<Chunk> | undefined;
  readonly #skipSync: boolean;
  readonly #zeroOnAlloc: boolean;
  readonly #arenaBytes: number;
  readonly #maxBytes: number;
  readonly #arenas: Arena[] = [];
  readonly #deferred: DeferredFrees<Deferred>;
  /** Chunks handed out, by order. */
  readonly #handedOut: number[] = [];
  readonly #guard: MemoryGuard;
  /** Why the last fresh chunk was refused (memory reserve), reported if nothing else can serve. */
  #refusal: unknown;
  #zeroedBytes = 0;
  /** The scatter-gather table being built, reused by every allocation (grown when one takes more chunks). */
  #sgt = new Float64Array(3 * 64);

  constructor(options: SystemHeapOptions) {
    super();
    validateOptions(options, SPEC, 'systemHeap options');
    this.name = options.name === undefined ? 'system' : validateName(options.name);
    this.orders = [...new Set(options.orders ?? DEFAULT_ORDERS)].sort((a, b) => b - a);
    const limits = readUdmabufLimits();
    this.#listLimit = limits.listLimit ?? 1024;
    this.#skipSync = options.skipSync ?? true;
    this.#zeroOnAlloc = options.zero === 'on-alloc';
    this.#arenaBytes = options.arenaBytes ?? 1 << 30;
    const largest = PAGE_SIZE * 2 ** this.orders[0]!;
    if (this.#arenaBytes % largest !== 0) {
      throw new InvalidArgumentError(`arenaBytes must be a multiple of the largest chunk (${largest} bytes), got ${this.#arenaBytes}`, {
        heap: this.name,
      });
    }
    this.#maxBytes = options.maxBytes ?? totalmem();
    this.#deferred = new DeferredFrees<Deferred>(
      (d) => heldElsewhere(d.fd),
      (d) => {
        closeFd(d.fd);
        this.#putChunks(d.chunks, d.dirty);
      },
      options.deferredCheckMs ?? 100,
    );
    // Shmem pages cannot be reclaimed without swap: past MemAvailable the OOM killer would act, not ENOMEM.
    this.#guard = new MemoryGuard(options.reserveBytes);
    this.capabilities = {
      contiguous: false,
      cached: true,
      maxAllocation: Math.min((limits.sizeLimitMb ?? 64) * 1024 * 1024, this.#maxBytes),
      alignment: PAGE_SIZE,
      backing: 'memfd+udmabuf',
    };
    // Freed chunks wait while something else holds them (collectDeferred); only a pool has pages to trim.
    this.supports = { trim: options.pool !== false, collectDeferred: true, asyncAllocation: false };
    this.#dev = openDevice('/dev/udmabuf', constants.O_RDWR);
    if (options.pool !== false) {
      this.#pool = new PagePool<Chunk>({
        ...options.pool,
        orders: this.orders,
        pageSize: PAGE_SIZE,
        release: (chunk) => chunk.arena.punch(chunk.offset, this.#bytes(chunk.order)),
        // With a low watermark, idle turns of the event loop carve and fault in chunks ahead of need.
        refill: (order) => {
          const chunk = this.#carve(order);
          if (chunk && !this.#faultIn(chunk)) return undefined; // out of memory now: the pool stays as it is
          return chunk;
        },
      });
    }
  }

  protected _allocate(size: number, options: AllocateOptions): DmaBuf {
    if (this.#deferred.pending > 0) this.#deferred.collect();
    const len = Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
    const chunks = this.#takeChunks(len);
    let fd: number;
    try {
      if (this.#zeroOnAlloc) for (const c of chunks) if (c.dirty) this.#zero(c);
      if (this.#sgt.length < 3 * chunks.length) this.#sgt = new Float64Array(3 * chunks.length);
      const ranges = sgTriples(chunks, PAGE_SIZE, this.#sgt);
      if (ranges > this.#listLimit) {
        throw new LimitExceededError(`${len} bytes need ${ranges} memfd ranges, more than udmabuf's list_limit of ${this.#listLimit}`, {
          heap: this.name,
        });
      }
      fd = unchecked.udmabufCreateList(this.#dev, constants.UDMABUF_FLAGS_CLOEXEC, this.#sgt, ranges);
    } catch (err) {
      this.#putChunks(chunks, false);
      throw err;
    }
    const buf = this.buffer({
      fd,
      size: len,
      ops: dmaBufOps,
      name: options.name,
      skipSyncUntilShared: this.#skipSync,
      release: (state) => this.#release(fd, chunks, state),
    });
    if (options.name) {
      try {
        buf.setName(options.name);
      } catch (err) {
        buf.close();
        throw err;
      }
    }
    return buf;
  }

  /** Largest orders first; after a smaller order is used, larger ones are not tried again. */
  #takeChunks(len: number): Chunk[] {
    const chunks: Chunk[] = [];
    let remaining = len;
    let i = 0;
    this.#refusal = undefined;
    try {
      while (remaining > 0) {
        let chunk: Chunk | undefined;
        for (; i < this.orders.length; i++) {
          const order = this.orders[i]!;
          if (this.#bytes(order) > remaining) continue;
          chunk = this.#pool?.get(order) ?? this.#carve(order);
          if (chunk) break;
        }
        if (!chunk) {
          if (this.#refusal) throw this.#refusal;
          throw new OutOfMemoryError(
            `heap "${this.name}" cannot find ${remaining} more bytes: its arenas hold ${this.#maxBytes} bytes at most (maxBytes)`,
            { heap: this.name },
          );
        }
        chunks.push(chunk);
        this.#handedOut[chunk.order] = (this.#handedOut[chunk.order] ?? 0) + 1;
        remaining -= this.#bytes(chunk.order);
      }
    } catch (err) {
      this.#putChunks(chunks, false); // a failed allocation gives back what it took
      throw err;
    }
    return chunks;
  }

  #carve(order: number): Chunk | undefined {
    const bytes = this.#bytes(order);
    try {
      this.#guard.check(bytes, this.name);
    } catch (err) {
      this.#refusal = err; // like "no chunk of this order": smaller pooled chunks may still serve
      return undefined;
    }
    for (const arena of this.#arenas) {
      const offset = arena.carve(bytes);
      if (offset !== undefined) return { arena, offset, order, dirty: false };
    }
    // A new arena takes what is left of maxBytes, up to arenaBytes: the last one may be smaller.
    const left = this.#maxBytes - this.#arenas.reduce((n, a) => n + a.size, 0);
    const size = Math.floor(Math.min(this.#arenaBytes, left) / PAGE_SIZE) * PAGE_SIZE;
    if (size < bytes) return undefined;
    const arena = new Arena(this.#arenas.length, size);
    this.#arenas.push(arena);
    const offset = arena.carve(bytes);
    return offset === undefined ? undefined : { arena, offset, order, dirty: false };
  }

  /**
   * Gives a chunk its pages ahead of need, cleared: a udmabuf over it pins them (shmem allocates and clears the
   * pages it does not have yet) and lets go at once; the pages stay in the arena. On failure the range goes back
   * to the arena and false is returned.
   */
  #faultIn(chunk: Chunk): boolean {
    const bytes = this.#bytes(chunk.order);
    try {
      closeFd(udmabufCreate(this.#dev, { memfd: chunk.arena.fd, offset: chunk.offset, size: bytes }));
      return true;
    } catch {
      chunk.arena.punch(chunk.offset, bytes);
      return false;
    }
  }

  #release(fd: number, chunks: Chunk[], state: ReleaseState): void {
    // After close() the arenas' memfds are closed (their numbers may be anyone's by now): the pages stay pinned
    // by this dma-buf and go back to the kernel with its last reference.
    if (this.closed) {
      unchecked.close(fd);
      return;
    }
    // Not mapped and never handed out: nobody can hold it or have written it.
    const dirty = state.mapped || state.shared;
    if (state.shared && heldElsewhere(fd)) {
      this.#deferred.add({ fd, chunks, dirty });
      return;
    }
    unchecked.close(fd);
    this.#putChunks(chunks, dirty);
  }

  #putChunks(chunks: Chunk[], dirty: boolean): void {
    for (const c of chunks) {
      if (dirty && !this.#zeroOnAlloc) this.#zero(c);
      else c.dirty ||= dirty;
      if (this.#pool) this.#pool.put(c, c.order);
      else c.arena.punch(c.offset, this.#bytes(c.order));
    }
  }

  #zero(c: Chunk): void {
    c.arena.zero(c.offset, this.#bytes(c.order));
    c.dirty = false;
    this.#zeroedBytes += this.#bytes(c.order);
  }

  #bytes(order: number): number {
    return PAGE_SIZE << order; // orders are at most 10
  }

  /** Frees the buffers whose dma-buf nobody else holds any more; returns how many are still held. */
  override collectDeferred(): number {
    return this.#deferred.collect();
  }

  /** Gives pooled pages back to the kernel until at most `targetBytes` stay pooled; returns bytes given back. */
  override trim(targetBytes = 0): number {
    return this.#pool?.trim(targetBytes) ?? 0;
  }

  protected override _stats(): Record<string, unknown> {
    const pool = this.#pool?.stats();
    return {
      pool: pool ?? null,
      poolBytesPerOrder: pool?.bytesPerOrder ?? {},
      hits: pool?.hits ?? 0,
      misses: pool?.misses ?? 0,
      chunksHandedOut: Object.fromEntries(this.orders.filter((o) => this.#handedOut[o]).map((o) => [o, this.#handedOut[o]])),
      deferredPending: this.#deferred.pending,
      arenas: this.#arenas.length,
      arenaBytesUsed: this.#arenas.reduce((n, a) => n + a.used, 0),
      zeroedBytes: this.#zeroedBytes,
    };
  }

  protected override _close(): void {
    // Buffers still held elsewhere keep their pages pinned through their own dma-buf; drop our fds.
    for (const d of this.#deferred.close()) closeFd(d.fd);
    this.#pool?.close();
    closeFd(this.#dev);
    // Live buffers pin their pages in the kernel, so closing the memfds cannot pull memory from under them;
    // their releases see `closed` and never touch an arena again.
    for (const a of this.#arenas.splice(0)) a.close();
  }
}

/**
 * Writes the scatter-gather table of a buffer into `out` as `[memfd, offset, length]` triples and returns how
 * many: chunks sorted by arena and offset (in place), adjacent ones merged. A LIFO pool hands chunks back in
 * reverse order; sorting lets them merge. `out` must hold `3 * chunks.length` numbers.
 */
export function sgTriples(chunks: Chunk[], pageSize: number, out: Float64Array): number {
  if (chunks.length > 1) chunks.sort((a, b) => a.arena.id - b.arena.id || a.offset - b.offset);
  let n = 0;
  for (const c of chunks) {
    const bytes = pageSize << c.order;
    if (n > 0 && out[n - 3] === c.arena.fd && out[n - 2]! + out[n - 1]! === c.offset) out[n - 1]! += bytes;
    else {
      out[n] = c.arena.fd;
      out[n + 1] = c.offset;
      out[n + 2] = bytes;
      n += 3;
    }
  }
  return n / 3;
}

function heldElsewhere(fd: number): boolean {
  return (readFdInfo(fd).count ?? 1) > 1;
}

/** The system heap in userspace, over memfd and udmabuf (needs read-write access to /dev/udmabuf). */
export function systemHeap(options: SystemHeapOptions = {}): SystemHeap {
  return new SystemHeap(options);
}
export type { SystemHeap };

/** Serves `system` where /dev/udmabuf is usable, ahead of the kernel's system heap (priority 10). */
export const systemHeapProvider: HeapProvider = {
  id: '@dmaheap/system-heap',
  priority: 10,
  names: () => ['system', 'udmabuf:system'],
  probe: () => {
    try {
      accessSync('/dev/udmabuf', fs.R_OK | fs.W_OK);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EACCES' ? 'no permission to open /dev/udmabuf read-write' : '/dev/udmabuf is missing';
    }
  },
  open: (_name, options) => systemHeap(options as SystemHeapOptions),
};

registerHeap(systemHeapProvider);
