// The DmaBuf handle, one class for every heap. The heap hands it the system calls (DmaBufOps) and a release
// function; the handle checks arguments and state, so every heap gets the same behaviour and the same errors.
import { readFileSync } from 'node:fs';
import { ClosedError, fromSystemError, InvalidStateError } from './errors.js';
import type { AccessMode, BufferInfo, Heap } from './types.js';
import { validateAccessMode, validateName } from './validate.js';

/** The system calls a DmaBuf needs; `@dmaheap/native` provides them. Each throws a Node system error. */
export interface DmaBufOps {
  /** Maps `length` bytes of `fd` shared, read-write; the ArrayBuffer is detached by `munmap`. */
  mmap(fd: number, length: number): ArrayBuffer;
  /** Unmaps and detaches; harmless on an already unmapped buffer. */
  munmap(mapping: ArrayBuffer): void;
  /** `DMA_BUF_IOCTL_SYNC`. */
  sync(fd: number, phase: 'start' | 'end', mode: AccessMode): void;
  /** `DMA_BUF_SET_NAME_B`. */
  setName(fd: number, name: string): void;
  /** A new close-on-exec fd for the same dma-buf. */
  dup(fd: number): number;
}

/** What a buffer went through, passed to its release: whether its memory can hold data now. */
export interface ReleaseState {
  /** The CPU mapped it (so it may have written it). */
  mapped: boolean;
  /** Its fd was read or duplicated: a device or another process may hold or have written it. */
  shared: boolean;
}

export interface DmaBufInit {
  /** The dma-buf's fd; a function when it comes from a wrapped buffer and should be asked for only when needed. */
  fd: number | (() => number);
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
   * When true, CPU-access brackets cost no system call until the buffer may have been shared
   * (its `fd` read or `dup()`ed): no device or other process can be attached before that.
   */
  skipSyncUntilShared?: boolean;
}

interface Tracked extends ReleaseState {
  release: (state: ReleaseState) => void;
  heap: string;
  size: number;
  name: string | undefined;
  stack: string | undefined;
}

/** Called with a description of each buffer that was garbage-collected without `close()`. */
export type LeakHandler = (leak: { heap: string; size: number; name: string | undefined; stack: string | undefined }) => void;

let traceAllocations = process.env.DMAHEAP_TRACE === '1';
let leakHandler: LeakHandler = (leak) => {
  const where = leak.stack
    ? `\nallocated at:\n${leak.stack}`
    : ' (call trackAllocations(true) or set DMAHEAP_TRACE=1 to see where it was allocated)';
  process.emitWarning(
    `a dma-buf${leak.name ? ` "${leak.name}"` : ''} of ${leak.size} bytes from heap "${leak.heap}" was garbage-collected without close()${where}`,
    { code: 'DMAHEAP_LEAKED_BUFFER' },
  );
};

const finalizer = new FinalizationRegistry<Tracked>((t) => {
  try {
    t.release({ mapped: t.mapped, shared: t.shared });
  } finally {
    leakHandler({ heap: t.heap, size: t.size, name: t.name, stack: t.stack });
  }
});

/** Record where each buffer is allocated, so a leaked one can be reported with its stack. */
export function trackAllocations(on: boolean): void {
  traceAllocations = on;
}

/** Replace the default leak report (a process warning with code `DMAHEAP_LEAKED_BUFFER`). */
export function setLeakHandler(handler: LeakHandler): void {
  leakHandler = handler;
}

/** A dma-buf: a file descriptor for memory that devices and other processes can import. */
export class DmaBuf implements Disposable {
  readonly size: number;
  readonly heap: Heap;
  readonly #fdSource: number | (() => number);
  readonly #ops: DmaBufOps;
  readonly #tracked: Tracked;
  #closed = false;
  #mapping: ArrayBuffer | undefined;
  #view: Uint8Array | undefined;
  readonly #access = new Map<AccessMode, number>();
  readonly #alwaysSync: boolean;

  constructor(init: DmaBufInit) {
    this.#fdSource = init.fd;
    this.#alwaysSync = !init.skipSyncUntilShared;
    this.size = init.size;
    this.heap = init.heap;
    this.#ops = init.ops;
    this.#tracked = {
      release: init.release,
      mapped: false,
      shared: false,
      heap: init.heap.name,
      size: init.size,
      name: init.name,
      stack: traceAllocations ? new Error().stack?.split('\n').slice(2).join('\n') : undefined,
    };
    finalizer.register(this, this.#tracked, this);
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

  get #fd(): number {
    return typeof this.#fdSource === 'number' ? this.#fdSource : this.#fdSource();
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
      this.#mapping = this.#syscall('map', () => this.#ops.mmap(this.#fd, this.size));
      this.#view = new Uint8Array(this.#mapping, 0, this.size);
      this.#tracked.mapped = true;
    }
    return this.#view;
  }

  /** Unmaps; views returned by `map()` become detached (length 0). Harmless when not mapped. */
  unmap(): void {
    if (!this.#mapping) return;
    const mapping = this.#mapping;
    this.#mapping = undefined;
    this.#view = undefined;
    this.#syscall('unmap', () => this.#ops.munmap(mapping));
  }

  /** Starts CPU access (`DMA_BUF_IOCTL_SYNC` start); pair with `endCpuAccess(mode)`. */
  beginCpuAccess(mode: AccessMode): void {
    this.#check('beginCpuAccess');
    validateAccessMode(mode);
    if (this.#mustSync) this.#syscall('beginCpuAccess', () => this.#ops.sync(this.#fd, 'start', mode));
    this.#access.set(mode, (this.#access.get(mode) ?? 0) + 1);
  }

  /** Ends CPU access begun with the same mode. */
  endCpuAccess(mode: AccessMode): void {
    this.#check('endCpuAccess');
    validateAccessMode(mode);
    const open = this.#access.get(mode) ?? 0;
    if (open === 0) {
      throw new InvalidStateError(`endCpuAccess('${mode}') without a matching beginCpuAccess('${mode}')`, {
        heap: this.heap.name,
      });
    }
    if (this.#mustSync) this.#syscall('endCpuAccess', () => this.#ops.sync(this.#fd, 'end', mode));
    if (open === 1) this.#access.delete(mode);
    else this.#access.set(mode, open - 1);
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
    finalizer.unregister(this);
    try {
      this.unmap();
    } finally {
      this.#access.clear();
      this.#tracked.release({ mapped: this.#tracked.mapped, shared: this.#tracked.shared });
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
