// dma-buf heaps and dma-bufs: DMA_HEAP_IOCTL_ALLOC (on this thread, or on libuv's thread pool), DMA_BUF_IOCTL_SYNC,
// DMA_BUF_SET_NAME_B.
import { constants as C, native } from './binding.js';
import { invalidArgument } from './errors.js';
import { check, checkBool, checkFd, checkFlags, checkOptions, checkSize, checkString, describe } from './validate.js';

/** DMA_BUF_NAME_LEN (32) minus the NUL. */
export const MAX_DMABUF_NAME_BYTES = 31;
/** Heap flags this version knows; the UAPI defines none yet (DMA_HEAP_VALID_HEAP_FLAGS is 0). */
const KNOWN_HEAP_FLAGS = 0;

/** Options of {@link heapAlloc}. */
export interface HeapAllocOptions {
  /** Flags of the new dma-buf fd: `O_ACCMODE` bits and `O_CLOEXEC` only. Default `O_RDWR`. */
  fdFlags?: number;
  /** Heap flags; the UAPI defines none, so only 0 is accepted. */
  heapFlags?: number;
  /** Add `O_CLOEXEC` to `fdFlags` (default true). */
  cloexec?: boolean;
}

/**
 * Allocates a dma-buf from an open heap (`DMA_HEAP_IOCTL_ALLOC`).
 *
 * @param heapFd - fd of `/dev/dma_heap/<name>` (see {@link openDevice})
 * @param len - bytes, a safe integer > 0 (the kernel rounds it up to a page)
 * @returns the dma-buf fd
 * @throws system error (`syscall: 'ioctl(DMA_HEAP_IOCTL_ALLOC)'`, `fd: heapFd`): ENOMEM, EMFILE,
 *   EINTR (fatal signal), ENOTTY for an fd that is not a heap
 */
export function heapAlloc(heapFd: number, len: number, options?: HeapAllocOptions): number {
  const { fdFlags, heapFlags } = checkHeapAlloc(heapFd, len, options);
  return check(native.heapAlloc(heapFd, len, fdFlags, heapFlags), 'ioctl(DMA_HEAP_IOCTL_ALLOC)', { fd: heapFd });
}

/**
 * {@link heapAlloc} with the ioctl on libuv's thread pool, so the event loop runs on while the kernel allocates
 * (a large CMA allocation migrates pages out of the area and clears them). Checked as `heapAlloc` checks, the
 * bad arguments rejecting with the same errors. The new fd belongs to this thread (recorded when the allocation
 * completes; a worker terminated meanwhile never leaks it). The heap fd may be closed while the promise is
 * pending: the allocation works on a copy of it.
 *
 * @returns the dma-buf fd
 * @throws (rejects) as {@link heapAlloc}
 */
export async function heapAllocAsync(heapFd: number, len: number, options?: HeapAllocOptions): Promise<number> {
  const { fdFlags, heapFlags } = checkHeapAlloc(heapFd, len, options);
  return check(await native.heapAllocAsync(heapFd, len, fdFlags, heapFlags), 'ioctl(DMA_HEAP_IOCTL_ALLOC)', { fd: heapFd });
}

/** The checks of {@link heapAlloc}'s arguments; the fd flags (O_CLOEXEC added unless `cloexec: false`) and heap flags. */
function checkHeapAlloc(heapFd: unknown, len: unknown, options: unknown): { fdFlags: number; heapFlags: number } {
  checkFd(heapFd, 'heapFd');
  checkSize(len, 'len');
  const o = checkOptions<HeapAllocOptions>(options);
  const fdFlags = checkFlags(o.fdFlags ?? C.O_RDWR, 'fdFlags', C.O_ACCMODE | C.O_CLOEXEC);
  const heapFlags = checkSize(o.heapFlags ?? 0, 'heapFlags', 0);
  if (heapFlags !== KNOWN_HEAP_FLAGS) throw invalidArgument(`The "heapFlags" option has unknown flag bits: the kernel defines no heap flags. Received ${heapFlags}`);
  const cloexec = checkBool(o.cloexec, 'cloexec', true);
  return { fdFlags: fdFlags | (cloexec ? C.O_CLOEXEC : 0), heapFlags };
}

/**
 * `DMA_BUF_IOCTL_SYNC` with raw flags (restarted on EINTR/EAGAIN in C). Flags are
 * `DMA_BUF_SYNC_START|END` with `READ`, `WRITE` or both; see {@link bufSyncStart} for names.
 *
 * @throws system error (`syscall: 'ioctl(DMA_BUF_IOCTL_SYNC)'`, with `fd`), e.g. EINVAL for END
 *   before START on udmabuf, ENOTTY for an fd that is not a dma-buf
 */
export function bufSync(fd: number, flags: number): void {
  checkFd(fd);
  const f = checkFlags(flags, 'flags', C.DMA_BUF_SYNC_RW | C.DMA_BUF_SYNC_END);
  if ((f & C.DMA_BUF_SYNC_RW) === 0) throw invalidArgument(`The "flags" argument must include DMA_BUF_SYNC_READ or DMA_BUF_SYNC_WRITE. Received ${f}`);
  check(native.bufSync(fd, f), 'ioctl(DMA_BUF_IOCTL_SYNC)', { fd });
}

/** CPU access direction of a dma-buf sync. */
export type SyncAccess = 'read' | 'write' | 'readwrite';
/** Whether a sync opens or closes a CPU access window. */
export type SyncPhase = 'start' | 'end';

/** The `DMA_BUF_IOCTL_SYNC` flags for a phase and access direction. */
export function dmaBufSyncFlags(phase: SyncPhase, access: SyncAccess): number {
  const p = phase === 'start' ? C.DMA_BUF_SYNC_START : phase === 'end' ? C.DMA_BUF_SYNC_END : undefined;
  if (p === undefined) throw invalidArgument(`The "phase" argument must be 'start' or 'end'. Received ${describe(phase)}`);
  const a = access === 'read' ? C.DMA_BUF_SYNC_READ : access === 'write' ? C.DMA_BUF_SYNC_WRITE : access === 'readwrite' ? C.DMA_BUF_SYNC_RW : undefined;
  if (a === undefined) throw invalidArgument(`The "access" argument must be 'read', 'write' or 'readwrite'. Received ${describe(access)}`);
  return p | a;
}

/** Begins CPU access to a dma-buf (`DMA_BUF_SYNC_START | access`). */
export function bufSyncStart(fd: number, access: SyncAccess = 'readwrite'): void {
  bufSync(fd, dmaBufSyncFlags('start', access));
}

/** Ends CPU access to a dma-buf (`DMA_BUF_SYNC_END | access`). */
export function bufSyncEnd(fd: number, access: SyncAccess = 'readwrite'): void {
  bufSync(fd, dmaBufSyncFlags('end', access));
}

/**
 * Names a dma-buf (`DMA_BUF_SET_NAME_B`); the name shows as `name:` in fdinfo.
 *
 * @param name - at most 31 UTF-8 bytes, no NUL
 * @throws system error (`syscall: 'ioctl(DMA_BUF_SET_NAME_B)'`, with `fd`)
 */
export function bufSetName(fd: number, name: string): void {
  checkFd(fd);
  checkString(name, 'name', MAX_DMABUF_NAME_BYTES);
  check(native.bufSetName(fd, name), 'ioctl(DMA_BUF_SET_NAME_B)', { fd });
}
