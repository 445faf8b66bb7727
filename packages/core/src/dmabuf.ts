// The DmaBuf handle, one class for every heap. The heap hands it the system calls (DmaBufOps) and a release
// function; the handle checks arguments and state, so every heap gets the same behaviour and the same errors.
import { readFileSync } from 'node:fs';
import { markAsUntransferable } from 'node:worker_threads';
import { ClosedError, fromSystemError, InvalidStateError } from './errors.js';
import type { AccessMode, BufferInfo, Heap } from './types.js';
import { validateAccessMode, validateName } from './validate.js';

/** The system calls a DmaBuf needs; `@dmaheap/native` provides them. Each throws a Node system error. */
export interface DmaBufOps {
  /** Maps `length` bytes of `fd` shared, read-write; the ArrayBuffer is detached by `munmap`. */
  mmap(fd: number, length: number): ArrayBuffer;
  /**
   * Unmaps and detaches; harmless on an already unmapped buffer. Returns `false` when the memory may still be
   * mapped (its ArrayBuffer was detached by someone else, e.g. `ArrayBuffer.prototype.transfer`, and lives on
   * in a new one): the buffer then counts as shared, so its heap asks the kernel before reusing the memory.
   */
  munmap(mapping: ArrayBuffer): boolean | void;
  /** `DMA_BUF_IOCTL_SYNC`. */
  sync(fd: number, phase: 'start' | 'end', mode: AccessMode): void;
  /** `DMA_BUF_SET_NAME_B`. */
  setName(fd: number, name: string): void;
  /** A new close-on-exec fd for the same dma-buf. */
  dup(fd: number): number;
}

/**
 * What a buffer went through, passed to its release. The one rule every heap and pool follows: memory goes back
 * to a pool only when nothing can reach it any more. When `shared` is false, nothing but the heap's own fd
 * holds the dma-buf (no other fd, no mapping, no JavaScript view), and the memory may be reused at once (zeroed
 * first if `mapped` or `shared`). When `shared` is true, something else may still hold it: the heap must ask
 * the kernel (fdinfo `count` of its fd) and wait until its fd is the only reference.
 */
export interface ReleaseState {
  /** The CPU mapped it (so it may have written it). */
  mapped: boolean;
  /**
   * Something other than this handle may hold or have written the dma-buf: its fd was read or duplicated (a
   * device or another process), a mapping outlived the handle (garbage-collected while mapped), or a view's
   * memory was moved to another ArrayBuffer.
   */
  shared: boolean;
}

export interface DmaBufInit {
  /** The dma-buf's fd, owned by the heap until `release`. */
  fd: number;
  /** Size of the dma-buf in bytes (page-rounded). */
  size: number;
  heap: Heap;
  ops: DmaBufOps;
  /**
   * Gives the buffer back (closes the fd, or recycles the memory). Called exactly once, by `close()` or,
   * for a forgotten buffer, by the finalizer; so it must not refer to the DmaBuf itself.
   */
  release: (state: ReleaseState) => void;
  name?: string;
  /**
   * Register with the finalizer (default true): a buffer garbage-collected without close() is then released and
   * reported. A wrapper handle whose inner buffer is registered itself may pass false: if the handle is lost, so
   * is the inner buffer, whose own registration releases it (to the inner heap: the wrapper never hears of it).
   */
  finalize?: boolean;
  /**
   * When true, CPU-access brackets cost no system call until the buffer may have been shared
   * (its `fd` read or `dup()`ed): no device or other process can be attached before that.
   */
  skipSyncUntilShared?: boolean;
}

interface Tracked extends ReleaseState {
  release: (state: ReleaseState) => void;
  /** The heap's own count of live buffers (AbstractHeap), told of each release. */
  owner: Accounting | undefined;
  /** A mapping is live now: if the handle is collected before it is unmapped, the mapping may outlive it. */
  mappedNow: boolean;
  /** Lent to a wrapper (see {@link lend}): its own handles may have shared the fd, so release says shared. */
  lent: boolean;
  heap: string;
  size: number;
  name: string | undefined;
  stack: string | undefined;
}

/** Called with a description of each buffer that was garbage-collected without `close()`. */
export type LeakHandler = (leak: { heap: string; size: number; name: string | undefined; stack: string | undefined }) => void;

let traceAllocations = process.env.DMAHEAP_TRACE === '1';
const defaultLeakHandler: LeakHandler = (leak) => {
  const where = leak.stack
    ? `\nallocated at:\n${leak.stack}`
    : ' (call trackAllocations(true) or set DMAHEAP_TRACE=1 to see where it was allocated)';
  process.emitWarning(
    `a dma-buf${leak.name ? ` "${leak.name}"` : ''} of ${leak.size} bytes from heap "${leak.heap}" was garbage-collected without close()${where}`,
    { code: 'DMAHEAP_LEAKED_BUFFER' },
  );
};
let leakHandler = defaultLeakHandler;

/**
 * Each mapping's ArrayBuffer keeps its DmaBuf reachable (a WeakMap entry lives as long as its key): while any
 * view of the memory is alive, the buffer is not garbage-collected, so its memory cannot go back to a pool.
 */
const keepAlive = new WeakMap<ArrayBuffer, DmaBuf>();

/** How AbstractHeap keeps its counts without a closure per buffer: DmaBuf tells it of each release. */
export const released: unique symbol = Symbol('dmaheap.released');
interface Accounting {
  [released](size: number): void;
}

/** A mapping not (or not certainly) unmapped, and a lent buffer, may be held by something else. */
function releaseState(t: Tracked): ReleaseState {
  return { mapped: t.mapped, shared: t.shared || t.mappedNow || t.lent };
}

/** Releases once: the heap's counts, then the heap's own release. */
/** What a released buffer's handle keeps in place of its release and ops: nothing its heap gave it. */
const spent = (): never => {
  throw new Error('dmaheap: a released buffer was used'); // unreachable: every method checks closed first
};
const SPENT_OPS: DmaBufOps = { mmap: spent, munmap: spent, sync: spent, setName: spent, dup: spent };

function release(t: Tracked): void {
  const give = t.release;
  // A closed handle the program still holds must not pin what its heap gave it: a pool's handle reaches the
  // pooled buffer through its release, and that buffer, handed out again and lost, must still be collected.
  t.release = spent;
  t.owner?.[released](t.size);
  give(releaseState(t));
}

const finalizer = new FinalizationRegistry<Tracked>((t) => {
  try {
    // No view is reachable any more (see keepAlive), but the mapping itself is unmapped only when its
    // ArrayBuffer's own finalizer runs, which may come later: until then it holds the dma-buf.
    release(t);
  } finally {
    leakHandler({ heap: t.heap, size: t.size, name: t.name, stack: t.stack });
  }
});

// Registration is deferred to the end of the current job (a microtask), and skipped for a buffer closed by then:
// most buffers are, and a finalizer cannot run before the job ends anyway (a lost handle waits in the list until
// it is registered, then for a collection). Registering and unregistering each buffer cost V8 two runtime calls,
// the largest part of the JavaScript side of a 4 KiB allocate-and-close. The list is flushed early when it grows
// long, so a job that allocates without end keeps at most LIST_MAX handles waiting.
const LIST_MAX = 1024;
let waiting: DmaBuf[] = [];
let flushQueued = false;
let flush: () => void;
function enlist(buf: DmaBuf): void {
  if (waiting.push(buf) >= LIST_MAX) flush();
  else if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(() => {
      flushQueued = false;
      flush();
    });
  }
}

/** Record where each buffer is allocated, so a leaked one can be reported with its stack. */
export function trackAllocations(on: boolean): void {
  traceAllocations = on;
}

/**
 * Replace the leak report (default: a process warning with code `DMAHEAP_LEAKED_BUFFER`); `undefined` restores
 * the default. Returns the handler it replaced.
 */
export function setLeakHandler(handler: LeakHandler | undefined): LeakHandler {
  const previous = leakHandler;
  leakHandler = handler ?? defaultLeakHandler;
  return previous;
}

/** What a wrapper needs to make DmaBufs of its own over another heap's buffer (see {@link lend}). */
export interface LentBuffer {
  fd: number;
  ops: DmaBufOps;
  skipSyncUntilShared: boolean;
}

let lendImpl: (buf: DmaBuf) => LentBuffer;

/**
 * For heaps that hand out another heap's buffers under handles of their own (as `bufferPool` does): the fd,
 * system calls and sync policy to build those handles with, without marking `buf` shared. Each wrapper handle
 * then tracks its own mapping and sharing, and its release tells the wrapper. From now on `buf` reports
 * `shared: true` to its own heap when it is released: the wrapper's handles may have given the fd away.
 */
export function lend(buf: DmaBuf): LentBuffer {
  return lendImpl(buf);
}

/** A dma-buf: a file descriptor for memory that devices and other processes can import. */
export class DmaBuf implements Disposable {
  readonly size: number;
  readonly heap: Heap;
  readonly #fd: number;
  #ops: DmaBufOps;
  readonly #tracked: Tracked;
  #closed = false;
  #mapping: ArrayBuffer | undefined;
  #view: Uint8Array | undefined;
  /** Open CPU-access brackets, per mode (plain counters: no allocation for buffers never bracketed). */
  #reads = 0;
  #writes = 0;
  #readwrites = 0;
  readonly #alwaysSync: boolean;
  /** Registered with the finalizer (see enlist). */
  #registered = false;

  static {
    flush = () => {
      const list = waiting;
      waiting = [];
      for (const buf of list) {
        if (buf.#closed) continue;
        finalizer.register(buf, buf.#tracked, buf);
        buf.#registered = true;
      }
    };
    lendImpl = (buf) => {
      buf.#check('lend');
      buf.#tracked.lent = true;
      return { fd: buf.#fd, ops: buf.#ops, skipSyncUntilShared: !buf.#alwaysSync };
    };
  }

  constructor(init: DmaBufInit) {
    this.#fd = init.fd;
    this.#alwaysSync = !init.skipSyncUntilShared;
    this.size = init.size;
    this.heap = init.heap;
    this.#ops = init.ops;
    const heap = init.heap as Partial<Accounting>;
    this.#tracked = {
      release: init.release,
      owner: typeof heap[released] === 'function' ? (heap as Accounting) : undefined,
      mapped: false,
      shared: false,
      mappedNow: false,
      lent: false,
      heap: init.heap.name,
      size: init.size,
      name: init.name,
      stack: traceAllocations ? new Error().stack?.split('\n').slice(2).join('\n') : undefined,
    };
    if (init.finalize !== false) enlist(this);
  }

  /** The dma-buf's file descriptor, to hand to an importer. Reading it marks the buffer as shared. */
  get fd(): number {
    this.#check('fd');
    this.#tracked.shared = true;
    return this.#fd;
  }

  /** Heaps that skip syncs do so only until a device or another process may be attached. */
  get #mustSync(): boolean {
    return this.#alwaysSync || this.#tracked.shared;
  }

  get name(): string | undefined {
    return this.#tracked.name;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the buffer may have been handed to a device or another process (its fd read or duplicated). */
  get shared(): boolean {
    return this.#tracked.shared;
  }

  /** Whether the buffer is mapped now. */
  get mapped(): boolean {
    return this.#view !== undefined;
  }

  /** Names the dma-buf (at most 31 bytes), as `DMA_BUF_SET_NAME_B` does; the name shows in fdinfo. */
  setName(name: string): void {
    this.#check('setName');
    validateName(name, this.heap.name);
    this.#syscall('setName', () => this.#ops.setName(this.#fd, name));
    this.#tracked.name = name;
  }

  /** A view of the whole buffer. The mapping is made once and reused until `unmap()`. */
  map(): Uint8Array {
    this.#check('map');
    if (!this.#view) {
      const mapping = this.#syscall('map', () => this.#ops.mmap(this.#fd, this.size));
      // Its memory must not move to another thread or ArrayBuffer (postMessage, structuredClone), where
      // unmap() could not detach it.
      markAsUntransferable(mapping);
      keepAlive.set(mapping, this);
      this.#mapping = mapping;
      this.#view = new Uint8Array(mapping, 0, this.size);
      this.#tracked.mapped = true;
      this.#tracked.mappedNow = true;
    }
    return this.#view;
  }

  /** Unmaps; views returned by `map()` become detached (length 0). Harmless when not mapped. */
  unmap(): void {
    if (!this.#mapping) return;
    const mapping = this.#mapping;
    this.#mapping = undefined;
    this.#view = undefined;
    const unmapped = this.#syscall('unmap', () => this.#ops.munmap(mapping));
    // A detached view the program keeps must not keep this handle (and what it holds) alive.
    keepAlive.delete(mapping);
    // The memory lives on in an ArrayBuffer we cannot detach: only the kernel knows when it is gone.
    if (unmapped === false) this.#tracked.shared = true;
    this.#tracked.mappedNow = false;
  }

  /** Starts CPU access (`DMA_BUF_IOCTL_SYNC` start); pair with `endCpuAccess(mode)`. */
  beginCpuAccess(mode: AccessMode): void {
    this.#check('beginCpuAccess');
    validateAccessMode(mode);
    if (this.#mustSync) this.#syscall('beginCpuAccess', () => this.#ops.sync(this.#fd, 'start', mode));
    this.#count(mode, 1);
  }

  /** Ends CPU access begun with the same mode. */
  endCpuAccess(mode: AccessMode): void {
    this.#check('endCpuAccess');
    validateAccessMode(mode);
    const open = this.#count(mode, 0);
    if (open === 0) {
      throw new InvalidStateError(`endCpuAccess('${mode}') without a matching beginCpuAccess('${mode}')`, {
        heap: this.heap.name,
      });
    }
    if (this.#mustSync) this.#syscall('endCpuAccess', () => this.#ops.sync(this.#fd, 'end', mode));
    this.#count(mode, -1);
  }

  /** Adds `delta` to the open brackets of `mode`; returns the count before. */
  #count(mode: AccessMode, delta: number): number {
    let before: number;
    if (mode === 'read') this.#reads = (before = this.#reads) + delta;
    else if (mode === 'write') this.#writes = (before = this.#writes) + delta;
    else this.#readwrites = (before = this.#readwrites) + delta;
    return before;
  }

  /** Maps the buffer and runs `fn` on its view inside a CPU-access bracket. */
  withCpuAccess<T>(mode: AccessMode, fn: (view: Uint8Array) => T): T {
    const view = this.map();
    this.beginCpuAccess(mode);
    try {
      return fn(view);
    } finally {
      if (!this.#closed) this.endCpuAccess(mode);
    }
  }

  /** `withCpuAccess` for an async callback: the bracket ends when its promise settles. */
  async withCpuAccessAsync<T>(mode: AccessMode, fn: (view: Uint8Array) => Promise<T>): Promise<T> {
    const view = this.map();
    this.beginCpuAccess(mode);
    try {
      return await fn(view);
    } finally {
      if (!this.#closed) this.endCpuAccess(mode);
    }
  }

  /** A new fd for the same dma-buf, for someone else (a child process, an importer); the caller closes it. */
  dup(): number {
    this.#check('dup');
    this.#tracked.shared = true;
    return this.#syscall('dup', () => this.#ops.dup(this.#fd));
  }

  /** What the kernel reports for this dma-buf (`/proc/self/fdinfo`). */
  info(): BufferInfo {
    this.#check('info');
    const fields = new Map<string, string>();
    for (const line of readFileSync(`/proc/self/fdinfo/${this.#fd}`, 'utf8').split('\n')) {
      const i = line.indexOf(':');
      // The kernel prints `key:\tvalue`; only that tab goes: a name may begin or end with spaces.
      if (i > 0) fields.set(line.slice(0, i), line.slice(i + 1).replace(/^\t/, ''));
    }
    const name = fields.get('name');
    return {
      size: Number(fields.get('size') ?? this.size),
      count: Number(fields.get('count') ?? 1),
      exporter: fields.get('exp_name') ?? 'unknown',
      ...(name ? { name } : {}),
    };
  }

  /** Unmaps and gives the buffer back to its heap. Harmless when already closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#registered) finalizer.unregister(this);
    try {
      this.unmap();
    } finally {
      this.#reads = this.#writes = this.#readwrites = 0;
      this.#ops = SPENT_OPS; // as release() drops the release: a closed handle pins nothing
      release(this.#tracked);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #check(what: string): void {
    if (this.#closed) {
      throw new ClosedError(`${what}() on a closed dma-buf${this.name ? ` "${this.name}"` : ''} from heap "${this.heap.name}"`, {
        heap: this.heap.name,
      });
    }
  }

  #syscall<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw fromSystemError(err, this.heap.name, what);
    }
  }
}
