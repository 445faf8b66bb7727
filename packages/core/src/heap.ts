// A base class for heaps (the abstract-level pattern): it checks arguments and state, keeps the counts every
// heap reports, and turns system errors into typed ones; a heap fills in `_allocate`.
import { DmaBuf, type DmaBufInit } from './dmabuf.js';
import { released } from './lifecycle.js';
import { ClosedError, fromSystemError } from './errors.js';
import type { AllocateOptions, Heap, HeapCapabilities, HeapStats, HeapSupports } from './types.js';
import { allocateOptionChecks, validateAllocateOptions, validateSize, type OptionCheck } from './validate.js';

const NOTHING_MORE: HeapSupports = Object.freeze({ trim: false, collectDeferred: false, asyncAllocation: false });

export abstract class AbstractHeap<Options extends AllocateOptions = AllocateOptions, Buf extends DmaBuf = DmaBuf> implements Heap {
  readonly specificationVersion = 'v1' as const;
  abstract readonly name: string;
  abstract readonly capabilities: HeapCapabilities;
  /** Nothing beyond allocating, unless a heap says more (and overrides trim / collectDeferred to match). */
  readonly supports: HeapSupports = NOTHING_MORE;
  #closed = false;
  #liveBuffers = 0;
  #liveBytes = 0;
  #allocations = 0;
  #failures = 0;

  /**
   * The checks of the allocation options this heap takes: {@link allocateOptionChecks} (`name`, `cpuAccess`),
   * extended by heaps that take more.
   */
  protected readonly allocateOptions: Readonly<Record<string, OptionCheck>> = allocateOptionChecks;

  /** Allocates `size` bytes (validated, > 0); returns a buffer made with `this.buffer(...)`. */
  protected abstract _allocate(size: number, options: Options): Buf;

  /** Sizes above this are refused with LimitExceededError before `_allocate`. Default `capabilities.maxAllocation`. */
  protected sizeLimit(): number | undefined {
    return this.capabilities.maxAllocation;
  }

  /** Heap-specific statistics, merged into `stats()`. */
  protected _stats(): Record<string, unknown> {
    return {};
  }

  /**
   * Releases the heap's own resources. Buffers already allocated stay valid: their releases after this must
   * not touch what `_close` closed (check `this.closed`).
   */
  protected _close(): void {}

  get closed(): boolean {
    return this.#closed;
  }

  allocate(size: number, options?: Options): Buf {
    this.#check('allocate');
    validateSize(size, this.name, this.sizeLimit());
    const opts = validateAllocateOptions(options, this.name, this.allocateOptions) as Options;
    try {
      const buf = this._allocate(size, opts);
      this.#allocations++;
      return buf;
    } catch (err) {
      this.#failures++;
      throw fromSystemError(err, this.name, 'allocate');
    }
  }

  /**
   * The same checks and counts as `allocate`, around `_allocateAsync` (heaps whose allocation can block leave the
   * event loop free there). A heap closed while the allocation ran rejects with ClosedError, the buffer closed.
   */
  async allocateAsync(size: number, options?: Options): Promise<Buf> {
    this.#check('allocate');
    validateSize(size, this.name, this.sizeLimit());
    const opts = validateAllocateOptions(options, this.name, this.allocateOptions) as Options;
    let buf: Buf;
    try {
      buf = await this._allocateAsync(size, opts);
    } catch (err) {
      this.#failures++;
      throw fromSystemError(err, this.name, 'allocate');
    }
    if (this.#closed) {
      buf.close();
      this.#failures++;
      throw new ClosedError(`allocate() on closed heap "${this.name}"`, { heap: this.name });
    }
    this.#allocations++;
    return buf;
  }

  /** `_allocate` off the event loop, for heaps that can (`supports.asyncAllocation`); by default `_allocate` itself. */
  protected async _allocateAsync(size: number, options: Options): Promise<Buf> {
    return this._allocate(size, options);
  }

  stats(): HeapStats {
    return {
      liveBuffers: this.#liveBuffers,
      liveBytes: this.#liveBytes,
      allocations: this.#allocations,
      failures: this.#failures,
      ...this._stats(),
    };
  }

  /** Gives pooled memory back: nothing to give in a heap that keeps none (`supports.trim` false). */
  trim(_targetBytes?: number): number {
    return 0;
  }

  /** Recycles deferred buffers, returning how many are still held: none in a heap that defers none. */
  collectDeferred(): number {
    return 0;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this._close();
  }

  /**
   * Wraps a freshly allocated fd in a DmaBuf (or, with `make`, a subclass of it) whose release keeps this heap's
   * counts right.
   */
  protected buffer(init: Omit<DmaBufInit, 'heap'>, make?: (init: DmaBufInit) => Buf): Buf {
    this.#liveBuffers++;
    this.#liveBytes += init.size;
    // Spelled out, not spread: an object spread costs about 12 µs per allocation under emulation (TCG) on
    // Node 20, more than the rest of this path together; the literal costs 0.1 µs. The release is the heap's
    // own: DmaBuf keeps the counts right by calling [released] (no wrapper closure per buffer).
    const full: DmaBufInit = {
      fd: init.fd,
      size: init.size,
      ops: init.ops,
      name: init.name,
      skipSyncUntilShared: init.skipSyncUntilShared,
      finalize: init.finalize,
      heap: this,
      release: init.release,
    };
    return make ? make(full) : (new DmaBuf(full) as Buf);
  }

  /** Called by DmaBuf once per buffer of this heap, as it is released. */
  [released](size: number): void {
    this.#liveBuffers--;
    this.#liveBytes -= size;
  }

  #check(what: string): void {
    if (this.#closed) throw new ClosedError(`${what}() on closed heap "${this.name}"`, { heap: this.name });
  }
}
