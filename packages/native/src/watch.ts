// Waiting for an fd without blocking: libuv's poll watcher on Node's own event loop (c/watch.c), so a wait costs
// no thread and no busy loop. Used for sockets (room to send, a message to receive), dma-bufs (their fences
// signalled) and sync_files.
import { TimeoutError } from '@dmaheap/core';
import { native } from './binding.js';
import { systemError } from './errors.js';
import { checkFd } from './validate.js';

/** What an fd became ready for. */
export interface Readiness {
  readable: boolean;
  writable: boolean;
  /** The peer hung up (sockets). */
  disconnect: boolean;
}

const READABLE = 1;
const WRITABLE = 4;
const DISCONNECT = 16;

/**
 * Calls `onReady` each time `fd` is readable and/or writable, as asked (level-triggered: again and again while it
 * stays so), until `close()`. One watcher per fd at a time: libuv does not allow two on one fd (use a `dupFd`
 * copy for a second). The fd must stay open while watched.
 */
export class FdWatcher {
  #handle: unknown;

  constructor(fd: number, events: { readable?: boolean; writable?: boolean }, onReady: (ready: Readiness, error?: Error) => void) {
    checkFd(fd);
    const mask = (events.readable ? READABLE : 0) | (events.writable ? WRITABLE : 0);
    const r = native.watch(fd, mask, (status: number, flags: number) => {
      try {
        onReady(
          { readable: (flags & READABLE) !== 0, writable: (flags & WRITABLE) !== 0, disconnect: (flags & DISCONNECT) !== 0 },
          status < 0 ? systemError('poll', status, { fd }) : undefined,
        );
      } catch (err) {
        // A callback that throws must not unwind into libuv: report it as Node reports uncaught errors.
        queueMicrotask(() => {
          throw err;
        });
      }
    });
    if (typeof r === 'number') throw systemError('uv_poll_init', r, { fd });
    this.#handle = r;
  }

  get closed(): boolean {
    return this.#handle === undefined;
  }

  /** Stops watching (harmless twice). */
  close(): void {
    if (this.#handle === undefined) return;
    native.unwatch(this.#handle);
    this.#handle = undefined;
  }
}

const abortReason = (signal: AbortSignal): unknown => signal.reason ?? new DOMException('This operation was aborted', 'AbortError');

/** Options of a wait. */
export interface WaitOptions {
  /** Reject with TimeoutError after this many ms. Default: wait as long as it takes. */
  timeoutMs?: number;
  /** Reject with the signal's reason (an AbortError) when it aborts. */
  signal?: AbortSignal;
}

/**
 * Resolves when `fd` is readable (`'readable'`) or writable (`'writable'`); rejects with TimeoutError after
 * `timeoutMs`, or with the signal's reason. The event loop goes on meanwhile. Watches a copy of the fd, so any
 * number of waits can be pending on one fd.
 */
export function waitFd(fd: number, event: 'readable' | 'writable', options: WaitOptions = {}): Promise<void> {
  checkFd(fd);
  const { timeoutMs, signal } = options;
  if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs < 0)) {
    return Promise.reject(new TypeError(`The "timeoutMs" option must be a finite number >= 0. Received ${String(timeoutMs)}`));
  }
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  const copy = native.dup(fd);
  if (copy < 0) return Promise.reject(systemError('fcntl(F_DUPFD_CLOEXEC)', copy, { fd }));
  return new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let watcher: FdWatcher | undefined;
    const done = (err?: unknown) => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      watcher?.close();
      watcher = undefined;
      native.close(copy);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = () => done(abortReason(signal!));
    try {
      watcher = new FdWatcher(copy, { [event]: true }, (ready, error) => {
        if (error) done(error);
        else if (ready[event]) done();
      });
    } catch (err) {
      native.close(copy);
      reject(err);
      return;
    }
    if (timeoutMs !== undefined) timer = setTimeout(() => done(new TimeoutError(`fd ${fd} was not ${event} within ${timeoutMs} ms`)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
