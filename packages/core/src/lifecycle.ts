// What a DmaBuf handle goes through besides its system calls: the state a release reports (mapped, shared), the
// finalizer that releases and reports a handle lost without close(), the keep-alive link from each mapping to its
// handle, and the heap's count of live buffers. dmabuf.ts holds the handle; this is its bookkeeping.
import type { AccessMode, Heap } from './types.js';

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

/**
 * One handle's state, apart from the handle: the fd and system calls its heap gave it, what it went through, and
 * its release. The finalizer holds this (never the handle), so a lost handle can still be released.
 */
export interface BufferState extends ReleaseState {
  readonly fd: number;
  ops: DmaBufOps;
  /** Syncs on every CPU-access bracket, or only once the buffer may be shared (`skipSyncUntilShared`). */
  readonly alwaysSync: boolean;
  closed: boolean;
  release: (state: ReleaseState) => void;
  /** The heap's own count of live buffers (AbstractHeap), told of each release. */
  owner: Accounting | undefined;
  /** A mapping is live now: if the handle is collected before it is unmapped, the mapping may outlive it. */
  mappedNow: boolean;
  /** Lent to a wrapper (see `lend`): its own handles may have shared the fd, so release says shared. */
  lent: boolean;
  /** Registered with the finalizer (see enlist). */
  registered: boolean;
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

/** Record where each buffer is allocated, so a leaked one can be reported with its stack. */
export function trackAllocations(on: boolean): void {
  traceAllocations = on;
}

/** The stack of an allocation, when allocations are tracked. */
export function allocationStack(): string | undefined {
  return traceAllocations ? new Error().stack?.split('\n').slice(3).join('\n') : undefined;
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

/**
 * Each mapping's ArrayBuffer keeps its handle reachable (a WeakMap entry lives as long as its key): while any
 * view of the memory is alive, the buffer is not garbage-collected, so its memory cannot go back to a pool.
 */
export const keepAlive = new WeakMap<ArrayBuffer, object>();

/** How AbstractHeap keeps its counts without a closure per buffer: the handle tells it of each release. */
export const released: unique symbol = Symbol('dmaheap.released');
export interface Accounting {
  [released](size: number): void;
}

/** A mapping not (or not certainly) unmapped, and a lent buffer, may be held by something else. */
function releaseState(s: BufferState): ReleaseState {
  return { mapped: s.mapped, shared: s.shared || s.mappedNow || s.lent };
}

/** What a released buffer's state keeps in place of its release and ops: nothing its heap gave it. */
const spent = (): never => {
  throw new Error('dmaheap: a released buffer was used'); // unreachable: every method checks closed first
};
export const SPENT_OPS: DmaBufOps = { mmap: spent, munmap: spent, sync: spent, setName: spent, dup: spent };

/** Releases once: the heap's counts, then the heap's own release. */
export function release(s: BufferState): void {
  const give = s.release;
  // A closed handle the program still holds must not pin what its heap gave it: a pool's handle reaches the
  // pooled buffer through its release, and that buffer, handed out again and lost, must still be collected.
  s.release = spent;
  s.ops = SPENT_OPS;
  s.owner?.[released](s.size);
  give(releaseState(s));
}

const finalizer = new FinalizationRegistry<BufferState>((s) => {
  try {
    // No view is reachable any more (see keepAlive), but the mapping itself is unmapped only when its
    // ArrayBuffer's own finalizer runs, which may come later: until then it holds the dma-buf.
    release(s);
  } finally {
    leakHandler({ heap: s.heap, size: s.size, name: s.name, stack: s.stack });
  }
});

// Registration is deferred to the end of the current job (a microtask), and skipped for a buffer closed by then:
// most buffers are, and a finalizer cannot run before the job ends anyway (a lost handle waits in the list until
// it is registered, then for a collection). Registering and unregistering each buffer cost V8 two runtime calls,
// the largest part of the JavaScript side of a 4 KiB allocate-and-close. The list is flushed early when it grows
// long, so a job that allocates without end keeps at most LIST_MAX handles waiting.
const LIST_MAX = 1024;
let waiting: Array<[object, BufferState]> = [];
let flushQueued = false;

function flush(): void {
  const list = waiting;
  waiting = [];
  for (const [handle, s] of list) {
    if (s.closed) continue;
    finalizer.register(handle, s, s);
    s.registered = true;
  }
}

/** Has the finalizer release `s` (and report a leak) if `handle` is collected before it is closed. */
export function enlist(handle: object, s: BufferState): void {
  if (waiting.push([handle, s]) >= LIST_MAX) flush();
  else if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(() => {
      flushQueued = false;
      flush();
    });
  }
}

/** The handle was closed: the finalizer has nothing left to do for it. */
export function unlist(s: BufferState): void {
  if (s.registered) finalizer.unregister(s);
}
