// The DmaBuf handle, one class for every heap. The heap hands it the system calls (DmaBufOps) and a release
// function; the handle checks arguments and state, so every heap gets the same behaviour and the same errors.
// Its bookkeeping (what a release reports, the finalizer, the heap's counts) is lifecycle.ts.
import { readFileSync } from 'node:fs';
import { markAsUntransferable } from 'node:worker_threads';
import { ClosedError, fromSystemError, InvalidStateError } from './errors.js';
import { allocationStack, enlist, keepAlive, release, released, unlist, type Accounting, type BufferState, type DmaBufOps, type ReleaseState } from './lifecycle.js';
import type { AccessMode, BufferInfo, Heap } from './types.js';
import { validateAccessMode, validateName } from './validate.js';

export { setLeakHandler, trackAllocations, type DmaBufOps, type LeakHandler, type ReleaseState } from './lifecycle.js';

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

/** What a wrapper needs to make DmaBufs of its own over another heap's buffer (see {@link lend}). */
export interface LentBuffer {
  fd: number;
  ops: DmaBufOps;
  skipSyncUntilShared: boolean;
}

/** The one way from a handle to its state, for the two functions below (set by DmaBuf's static block). */
let stateOf: (buf: DmaBuf) => BufferState;

/**
 * For heap and pool implementations: the fd of `buf` without marking it shared. Reading `buf.fd` marks it
 * (whoever reads the fd may hand it to a device or another process); a heap that maps a part of its own
 * buffer, or reads its fdinfo, needs the fd without giving it away.
 */
export function fdOf(buf: DmaBuf): number {
  const s = stateOf(buf);
  if (s.closed) throw new ClosedError(`fdOf() on a closed dma-buf from heap "${buf.heap.name}"`, { heap: buf.heap.name });
  return s.fd;
}

/**
 * For heaps that hand out another heap's buffers under handles of their own (as `bufferPool` does): the fd,
 * system calls and sync policy to build those handles with, without marking `buf` shared. Each wrapper handle
 * then tracks its own mapping and sharing, and its release tells the wrapper. From now on `buf` reports
 * `shared: true` to its own heap when it is released: the wrapper's handles may have given the fd away.
 */
export function lend(buf: DmaBuf): LentBuffer {
  const fd = fdOf(buf);
  const s = stateOf(buf);
  s.lent = true;
  return { fd, ops: s.ops, skipSyncUntilShared: !s.alwaysSync };
}

/** A dma-buf: a file descriptor for memory that devices and other processes can import. */
export class DmaBuf implements Disposable {
  readonly size: number;
  readonly heap: Heap;
  readonly #state: BufferState;
  #mapping: ArrayBuffer | undefined;
  #view: Uint8Array | undefined;
  /** Open CPU-access brackets, per mode (plain counters: no allocation for buffers never bracketed). */
  #reads = 0;
  #writes = 0;
  #readwrites = 0;

  static {
    stateOf = (buf) => buf.#state;
  }

  constructor(init: DmaBufInit) {
    this.size = init.size;
    this.heap = init.heap;
    const heap = init.heap as Partial<Accounting>;
    this.#state = {
      fd: init.fd,
      ops: init.ops,
      alwaysSync: !init.skipSyncUntilShared,
      closed: false,
      release: init.release,
      owner: typeof heap[released] === 'function' ? (heap as Accounting) : undefined,
      mapped: false,
      shared: false,
      mappedNow: false,
      lent: false,
      registered: false,
      heap: init.heap.name,
      size: init.size,
      name: init.name,
      stack: allocationStack(),
    };
    if (init.finalize !== false) enlist(this, this.#state);
  }

  /**
   * The dma-buf's file descriptor, to hand to an importer (a device, another process). **Reading it marks the
   * buffer shared**: from then on its CPU-access brackets sync, and its heap asks the kernel whether anyone else
   * still holds it before reusing the memory. Heap implementations reach the fd without that through `fdOf()`.
   */
  get fd(): number {
    this.#check('fd');
    this.#state.shared = true;
    return this.#state.fd;
  }

  /** Heaps that skip syncs do so only until a device or another process may be attached. */
  get #mustSync(): boolean {
    return this.#state.alwaysSync || this.#state.shared;
  }

  get name(): string | undefined {
    return this.#state.name;
  }

  get closed(): boolean {
    return this.#state.closed;
  }

  /** Whether the buffer may have been handed to a device or another process (its fd read or duplicated). */
  get shared(): boolean {
    return this.#state.shared;
  }

  /** Whether the buffer is mapped now. */
  get mapped(): boolean {
    return this.#view !== undefined;
  }

  /** Names the dma-buf (at most 31 bytes), as `DMA_BUF_SET_NAME_B` does; the name shows in fdinfo. */
  setName(name: string): void {
    this.#check('setName');
    validateName(name, this.heap.name);
    this.#syscall('setName', () => this.#state.ops.setName(this.#state.fd, name));
    this.#state.name = name;
  }

  /** A view of the whole buffer. The mapping is made once and reused until `unmap()`. */
  map(): Uint8Array {
    this.#check('map');
    if (!this.#view) {
      const mapping = this.#syscall('map', () => this.#state.ops.mmap(this.#state.fd, this.size));
      // Its memory must not move to another thread or ArrayBuffer (postMessage, structuredClone), where
      // unmap() could not detach it.
      markAsUntransferable(mapping);
      keepAlive.set(mapping, this);
      this.#mapping = mapping;
      this.#view = new Uint8Array(mapping, 0, this.size);
      this.#state.mapped = true;
      this.#state.mappedNow = true;
    }
    return this.#view;
  }

  /** Unmaps; views returned by `map()` become detached (length 0). Harmless when not mapped. */
  unmap(): void {
    if (!this.#mapping) return;
    const mapping = this.#mapping;
    this.#mapping = undefined;
    this.#view = undefined;
    const unmapped = this.#syscall('unmap', () => this.#state.ops.munmap(mapping));
    // A detached view the program keeps must not keep this handle (and what it holds) alive.
    keepAlive.delete(mapping);
    // The memory lives on in an ArrayBuffer we cannot detach: only the kernel knows when it is gone.
    if (unmapped === false) this.#state.shared = true;
    this.#state.mappedNow = false;
  }

  /** Starts CPU access (`DMA_BUF_IOCTL_SYNC` start); pair with `endCpuAccess(mode)`. */
  beginCpuAccess(mode: AccessMode): void {
    this.#check('beginCpuAccess');
    validateAccessMode(mode);
    if (this.#mustSync) this.#syscall('beginCpuAccess', () => this.#state.ops.sync(this.#state.fd, 'start', mode));
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
    if (this.#mustSync) this.#syscall('endCpuAccess', () => this.#state.ops.sync(this.#state.fd, 'end', mode));
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
      if (!this.#state.closed) this.endCpuAccess(mode);
    }
  }

  /** `withCpuAccess` for an async callback: the bracket ends when its promise settles. */
  async withCpuAccessAsync<T>(mode: AccessMode, fn: (view: Uint8Array) => Promise<T>): Promise<T> {
    const view = this.map();
    this.beginCpuAccess(mode);
    try {
      return await fn(view);
    } finally {
      if (!this.#state.closed) this.endCpuAccess(mode);
    }
  }

  /** A new fd for the same dma-buf, for someone else (a child process, an importer); the caller closes it. */
  dup(): number {
    this.#check('dup');
    this.#state.shared = true;
    return this.#syscall('dup', () => this.#state.ops.dup(this.#state.fd));
  }

  /** What the kernel reports for this dma-buf (`/proc/self/fdinfo`). */
  info(): BufferInfo {
    this.#check('info');
    const fields = new Map<string, string>();
    for (const line of readFileSync(`/proc/self/fdinfo/${this.#state.fd}`, 'utf8').split('\n')) {
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
    if (this.#state.closed) return;
    this.#state.closed = true;
    unlist(this.#state);
    try {
      this.unmap();
    } finally {
      this.#reads = this.#writes = this.#readwrites = 0;
      release(this.#state); // drops the release and ops: a closed handle pins nothing
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #check(what: string): void {
    if (this.#state.closed) {
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
