// A page pool: free lists per order, bounded, trimmed on demand and under memory pressure, optionally
// refilled in the background. Generic over what a page is; the system heap keeps memfd chunks in it.
import { checks, InvalidArgumentError, PAGE_SIZE, validateOptions, type OptionCheck } from '@dmaheap/core';
import { PressureMonitor, pressureOption, type PressureOptions } from './pressure.js';

export interface PagePoolOptions<P> {
  /** Orders kept, e.g. `[8, 4, 0]` (1 MiB, 64 KiB, 4 KiB chunks of 4 KiB pages). */
  orders: readonly number[];
  /** Bytes of an order-0 page. Default the system's page size. */
  pageSize?: number;
  /** Gives a page back to the system (closes, punches, unmaps). Called when the pool will not keep it. */
  release: (page: P, order: number) => void;
  /** Most bytes the pool holds in all; `put` beyond it releases the page. Default 256 MiB. */
  maxBytes?: number;
  /** Most bytes kept per order (high watermark). Default `maxBytes`. */
  highWatermark?: number;
  /** Bytes per order that background refill keeps ready (low watermark). Default 0: no refill. */
  lowWatermark?: number;
  /** Makes a new page of `order` for background refill; undefined when none can be had. */
  refill?: (order: number) => P | undefined;
  /** Shrink when the kernel reports memory pressure (PSI). Default on where /proc/pressure/memory exists. */
  pressure?: boolean | PressureOptions;
}

export interface PagePoolStats {
  bytes: number;
  /** Bytes held per order. */
  bytesPerOrder: Record<number, number>;
  pagesPerOrder: Record<number, number>;
  hits: number;
  misses: number;
  /** Pages released because the pool was full. */
  overflows: number;
  /** Bytes given back by trim() and the shrinker. */
  trimmedBytes: number;
  /** Times the shrinker ran because of memory pressure. */
  pressureEvents: number;
  refills: number;
}

const DEFAULT_MAX = 256 * 1024 * 1024;

/** The pool settings a user may give (heaps built on a PagePool take these as their `pool` option). */
export const pagePoolSettings: Record<string, OptionCheck> = {
  maxBytes: checks.positiveInteger,
  highWatermark: checks.positiveInteger,
  lowWatermark: checks.nonNegativeInteger,
  pressure: pressureOption,
};

const PAGE_POOL_SPEC: Record<string, OptionCheck> = {
  ...pagePoolSettings,
  orders: checks.arrayOf(checks.integerIn(0, 20), { min: 1 }),
  pageSize: checks.positiveInteger,
  release: (v) => typeof v === 'function' || 'a function',
  refill: (v) => typeof v === 'function' || 'a function',
};

export class PagePool<P> {
  readonly orders: readonly number[];
  readonly pageSize: number;
  readonly maxBytes: number;
  readonly highWatermark: number;
  readonly lowWatermark: number;
  readonly #free = new Map<number, P[]>();
  readonly #release: (page: P, order: number) => void;
  readonly #refill: ((order: number) => P | undefined) | undefined;
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #overflows = 0;
  #trimmed = 0;
  #pressureEvents = 0;
  #refills = 0;
  #refillScheduled = false;
  #closed = false;
  readonly #monitor: PressureMonitor | undefined;

  constructor(options: PagePoolOptions<P>) {
    validateOptions(options, PAGE_POOL_SPEC, 'PagePool options');
    if (typeof options.release !== 'function') throw new InvalidArgumentError('PagePool needs a release(page, order) function');
    this.orders = [...new Set(options.orders)].sort((a, b) => b - a);
    this.pageSize = options.pageSize ?? PAGE_SIZE;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX;
    this.highWatermark = options.highWatermark ?? this.maxBytes;
    this.lowWatermark = options.lowWatermark ?? 0;
    this.#release = options.release;
    this.#refill = options.refill;
    for (const o of this.orders) this.#free.set(o, []);
    if (options.pressure !== false) {
      this.#monitor = PressureMonitor.start(typeof options.pressure === 'object' ? options.pressure : {}, () => {
        this.#pressureEvents++;
        this.trim();
      });
    }
    this.#scheduleRefill();
  }

  /** Bytes in one page of `order`. */
  orderBytes(order: number): number {
    return this.pageSize * (1 << order); // orders are at most 20; `2 ** order` is a slow Math.pow call (0.5 µs under TCG)
  }

  /** Takes a page of `order` from the pool, or undefined (a miss) when none is free. */
  get(order: number): P | undefined {
    const list = this.#list(order);
    const page = list.pop();
    if (page === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#bytes -= this.orderBytes(order);
    if (list.length * this.orderBytes(order) < this.lowWatermark) this.#scheduleRefill();
    return page;
  }

  /** Gives a page back; the pool keeps it when under its watermarks, else releases it. Returns whether kept. */
  put(page: P, order: number): boolean {
    const list = this.#list(order);
    const size = this.orderBytes(order);
    if (this.#closed || this.#bytes + size > this.maxBytes || (list.length + 1) * size > this.highWatermark) {
      this.#overflows++;
      this.#release(page, order);
      return false;
    }
    list.push(page);
    this.#bytes += size;
    return true;
  }

  /** Releases pages, largest orders last, until the pool holds at most `targetBytes`. Returns bytes freed. */
  trim(targetBytes = 0): number {
    let freed = 0;
    for (const order of [...this.orders].reverse()) {
      const list = this.#list(order);
      const size = this.orderBytes(order);
      while (this.#bytes > targetBytes && list.length > 0) {
        this.#release(list.pop()!, order);
        this.#bytes -= size;
        freed += size;
      }
    }
    this.#trimmed += freed;
    return freed;
  }

  stats(): PagePoolStats {
    const bytesPerOrder: Record<number, number> = {};
    const pagesPerOrder: Record<number, number> = {};
    for (const o of this.orders) {
      pagesPerOrder[o] = this.#list(o).length;
      bytesPerOrder[o] = pagesPerOrder[o] * this.orderBytes(o);
    }
    return {
      bytes: this.#bytes,
      bytesPerOrder,
      pagesPerOrder,
      hits: this.#hits,
      misses: this.#misses,
      overflows: this.#overflows,
      trimmedBytes: this.#trimmed,
      pressureEvents: this.#pressureEvents,
      refills: this.#refills,
    };
  }

  /** Releases every page and stops the shrinker and refill. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#monitor?.stop();
    this.trim(0);
  }

  #list(order: number): P[] {
    const list = this.#free.get(order);
    if (!list) throw new InvalidArgumentError(`order ${order} is not one of this pool's orders (${this.orders.join(', ')})`);
    return list;
  }

  /** Background refill (as Qualcomm's heap does): one page per turn of the event loop, up to the low watermark. */
  #scheduleRefill(): void {
    if (!this.#refill || this.lowWatermark === 0 || this.#refillScheduled || this.#closed) return;
    this.#refillScheduled = true;
    setImmediate(() => {
      this.#refillScheduled = false;
      if (this.#closed) return;
      for (const order of this.orders) {
        const list = this.#list(order);
        const size = this.orderBytes(order);
        if ((list.length + 1) * size > this.lowWatermark || this.#bytes + size > this.maxBytes) continue;
        const page = this.#refill!(order);
        if (page === undefined) continue;
        list.push(page);
        this.#bytes += size;
        this.#refills++;
        this.#scheduleRefill();
        return;
      }
    }).unref();
  }
}
