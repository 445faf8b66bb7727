// Validated, typed wrappers over the native system calls, plus the /proc and /sys readers.
// Every argument is checked here, before the kernel is asked; a failed call throws a
// Node-shaped system error (see ./errors.ts). Functions returning an fd leave nothing open
// when they throw, so `const fd = f(); try { … } finally { closeFd(fd); }` never leaks.
import { constants as bufferConstants } from 'node:buffer';
import * as fs from 'node:fs';
import { types } from 'node:util';
import { constants, native } from './binding.js';
import { invalidArgument, systemError } from './errors.js';

export { constants };

/** The system page size (sysconf(_SC_PAGESIZE)). */
export const PAGE_SIZE: number = constants.PAGE_SIZE;

const C = constants;
const MAX_FD = 0x7fffffff;
/** memfd names: NAME_MAX (255) minus the "memfd:" prefix. */
const MAX_MEMFD_NAME_BYTES = 249;
/** DMA_BUF_NAME_LEN (32) minus the NUL. */
export const MAX_DMABUF_NAME_BYTES = 31;

/** The largest mapping an ArrayBuffer can hold on this Node.js (4 GiB on Node 20). */
export const MAX_MAPPING: number = bufferConstants.MAX_LENGTH;
/** Heap flags this version knows; the UAPI defines none yet (DMA_HEAP_VALID_HEAP_FLAGS is 0). */
const KNOWN_HEAP_FLAGS = 0;
const EBADF = 9;

/* ---------------- validation ---------------- */

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return `type ${typeof value}`;
}

function checkInt(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') {
    throw invalidArgument(`The "${name}" argument must be of type number. Received ${describe(value)}`);
  }
  if (!Number.isInteger(value)) {
    throw invalidArgument(`The value of "${name}" is out of range. It must be an integer. Received ${value}`, 'ERR_OUT_OF_RANGE');
  }
  if (value < min || value > max) {
    throw invalidArgument(`The value of "${name}" is out of range. It must be >= ${min} && <= ${max}. Received ${value}`, 'ERR_OUT_OF_RANGE');
  }
  return value;
}

/** An fd: an int32 >= 0. */
function checkFd(value: unknown, name = 'fd'): number {
  return checkInt(value, name, 0, MAX_FD);
}

/** A byte count or offset: a safe integer >= min. */
function checkSize(value: unknown, name: string, min = 1): number {
  return checkInt(value, name, min, Number.MAX_SAFE_INTEGER);
}

function checkAligned(value: number, name: string): number {
  if (value % PAGE_SIZE !== 0) {
    throw invalidArgument(`The value of "${name}" is out of range. It must be a multiple of the page size (${PAGE_SIZE}). Received ${value}`, 'ERR_OUT_OF_RANGE');
  }
  return value;
}

/** A 32-bit flag word with no bits outside `allowed`. */
function checkFlags(value: unknown, name: string, allowed: number): number {
  const v = checkInt(value, name, 0, 0xffffffff);
  const unknown = (v & ~allowed) >>> 0;
  if (unknown !== 0) throw invalidArgument(`The "${name}" argument has unknown flag bits 0x${unknown.toString(16)}. Received ${v}`);
  return v;
}

function checkString(value: unknown, name: string, maxBytes?: number): string {
  if (typeof value !== 'string') throw invalidArgument(`The "${name}" argument must be of type string. Received ${describe(value)}`);
  if (value.includes('\0')) throw invalidArgument(`The "${name}" argument must not contain NUL bytes. Received ${describe(value)}`);
  if (maxBytes !== undefined && Buffer.byteLength(value, 'utf8') > maxBytes) {
    throw invalidArgument(`The "${name}" argument must be at most ${maxBytes} bytes of UTF-8. Received ${describe(value)} (${Buffer.byteLength(value, 'utf8')} bytes)`);
  }
  return value;
}

function checkBool(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgument(`The "${name}" option must be a boolean. Received ${describe(value)}`);
  return value;
}

function checkOptions<T extends object>(value: unknown, name = 'options'): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(`The "${name}" argument must be an object. Received ${describe(value)}`);
  }
  return value as Partial<T>;
}

function checkArrayBuffer(value: unknown, name = 'arrayBuffer'): ArrayBuffer {
  if (!types.isArrayBuffer(value)) throw invalidArgument(`The "${name}" argument must be an ArrayBuffer. Received ${describe(value)}`);
  return value;
}

/** An ArrayBuffer that is a live mapping made by {@link mmapFd}; returns its address. */
function checkMapped(value: unknown, name = 'arrayBuffer'): bigint {
  const addr = native.mappingAddress(checkArrayBuffer(value, name));
  if (addr === 0n) throw invalidArgument(`The "${name}" argument must be a live mapping made by mmapFd (it is unmapped or not a mapping)`);
  return addr;
}

/** Throws the system error for a negative native result, else returns it. */
function check(result: number, syscall: string, extra?: { path?: string; fd?: number }): number {
  if (result < 0) throw systemError(syscall, result, extra);
  return result;
}

/* ---------------- fds ---------------- */

/**
 * Opens a device node (a dma-buf heap such as `/dev/dma_heap/system`, read-only; `/dev/udmabuf`,
 * read-write). `O_CLOEXEC` is added unless `options.cloexec` is false.
 *
 * @param path - the device path (a string without NUL)
 * @param flags - `O_RDONLY` (default), `O_WRONLY`, `O_RDWR`, optionally `| O_CLOEXEC`; nothing else
 * @returns the new fd; close it with {@link closeFd}
 * @throws system error (`syscall: 'open'`, with `path`) such as ENOENT, EACCES
 */
export function openDevice(path: string, flags: number = C.O_RDONLY, options?: { cloexec?: boolean }): number {
  checkString(path, 'path');
  const f = checkFlags(flags, 'flags', C.O_ACCMODE | C.O_CLOEXEC);
  const cloexec = checkBool(checkOptions<{ cloexec: boolean }>(options).cloexec, 'cloexec', true);
  return check(native.open(path, f | (cloexec ? C.O_CLOEXEC : 0), 0), 'open', { path });
}

/**
 * Closes an fd. EINTR is treated as success: on Linux the fd is gone either way.
 *
 * @throws system error (`syscall: 'close'`, with `fd`), e.g. EBADF
 */
export function closeFd(fd: number): void {
  checkFd(fd);
  const r = native.close(fd);
  if (r === -4 /* EINTR */) return;
  check(r, 'close', { fd });
}

/**
 * Duplicates an fd with `fcntl(F_DUPFD_CLOEXEC)` (the copy is close-on-exec).
 *
 * @returns the new fd (a second reference to the same open file)
 * @throws system error (`syscall: 'fcntl(F_DUPFD_CLOEXEC)'`, with `fd`), e.g. EBADF, EMFILE
 */
export function dupFd(fd: number): number {
  checkFd(fd);
  return check(native.dup(fd), 'fcntl(F_DUPFD_CLOEXEC)', { fd });
}

/* ---------------- dma-buf heaps and dma-bufs ---------------- */

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
  checkFd(heapFd, 'heapFd');
  checkSize(len, 'len');
  const o = checkOptions<HeapAllocOptions>(options);
  const fdFlags = checkFlags(o.fdFlags ?? C.O_RDWR, 'fdFlags', C.O_ACCMODE | C.O_CLOEXEC);
  const heapFlags = checkSize(o.heapFlags ?? 0, 'heapFlags', 0);
  if (heapFlags !== KNOWN_HEAP_FLAGS) throw invalidArgument(`The "heapFlags" option has unknown flag bits: the kernel defines no heap flags. Received ${heapFlags}`);
  const cloexec = checkBool(o.cloexec, 'cloexec', true);
  return check(native.heapAlloc(heapFd, len, fdFlags | (cloexec ? C.O_CLOEXEC : 0), heapFlags), 'ioctl(DMA_HEAP_IOCTL_ALLOC)', { fd: heapFd });
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

/* ---------------- any ioctl ---------------- */

/** Bits of an ioctl request number (asm-generic/ioctl.h): nr 0–7, type 8–15, size 16–29, direction 30–31. */
const IOC_SIZE_SHIFT = 16;
const IOC_SIZE_MASK = 0x3fff;
const IOC_DIR_SHIFT = 30;

/**
 * Any ioctl whose argument is a pointer to a struct: `arg` holds the struct's bytes, which the kernel
 * reads and/or writes in place (restarted on EINTR). The request number is used as given; when it
 * encodes a direction, `arg` must be at least as long as the size it encodes, so the kernel never
 * touches memory past the end of the array.
 *
 * @param request - the request number, an unsigned 32-bit integer (e.g. from `_IOWR`)
 * @param arg - the argument struct, a Uint8Array (a Buffer, or a view of part of an ArrayBuffer)
 * @returns the ioctl's non-negative result (0 for most requests; a new fd for some)
 * @param name - the request's name for the error's `syscall` (e.g. `VIDIOC_QBUF`); default its number
 * @throws system error (`syscall: 'ioctl(<name or 0x<request>>)'`, with `fd`), e.g. ENOTTY (not this device's
 *   request), EINVAL, EFAULT
 */
export function ioctl(fd: number, request: number, arg: Uint8Array, name?: string): number {
  checkFd(fd);
  checkInt(request, 'request', 0, 0xffffffff);
  if (!types.isUint8Array(arg)) throw invalidArgument(`The "arg" argument must be a Uint8Array. Received ${describe(arg)}`);
  if (name !== undefined) checkString(name, 'name', 64);
  const size = (request >>> IOC_SIZE_SHIFT) & IOC_SIZE_MASK;
  if (request >>> IOC_DIR_SHIFT !== 0 && arg.byteLength < size) {
    throw invalidArgument(`The "arg" argument is ${arg.byteLength} bytes; request 0x${request.toString(16)} passes a struct of ${size} bytes`, 'ERR_OUT_OF_RANGE');
  }
  return check(native.ioctl(fd, request, arg), `ioctl(${name ?? `0x${request.toString(16).padStart(8, '0')}`})`, { fd });
}

/* ---------------- mappings ---------------- */

/** Options of {@link mmapFd}. */
export interface MmapOptions {
  /** Byte offset into the file, page-aligned. Default 0. */
  offset?: number;
  /** Bytes to map, a safe integer > 0. */
  length: number;
  /** `PROT_READ` or `PROT_READ | PROT_WRITE` (default). */
  prot?: number;
}

/**
 * Maps an fd `MAP_SHARED` and returns the memory as an external ArrayBuffer. Unmap it with
 * {@link munmap} (synchronous; the ArrayBuffer is detached, views become length 0); a forgotten
 * mapping is unmapped when the ArrayBuffer is garbage-collected.
 *
 * Caution: JavaScript cannot make an ArrayBuffer read-only. Writing into a `PROT_READ` mapping
 * kills the process with SIGSEGV, as does touching pages past the end of the file (SIGBUS) after
 * the file shrank. The range is checked against the file size when the fd is a regular file
 * (memfd).
 *
 * @throws ERR_DMAHEAP_NO_EXTERNAL_BUFFERS when the runtime forbids external ArrayBuffers;
 *   system error (`syscall: 'mmap'`, with `fd`), e.g. EACCES, EPERM (write seal), EINVAL
 */
export function mmapFd(fd: number, options: MmapOptions): ArrayBuffer {
  checkFd(fd);
  const o = checkOptions<MmapOptions>(options);
  const offset = checkAligned(checkSize(o.offset ?? 0, 'offset', 0), 'offset');
  const length = checkSize(o.length, 'length');
  if (offset + length > Number.MAX_SAFE_INTEGER) throw invalidArgument(`offset + length must be a safe integer. Received ${offset} + ${length}`, 'ERR_OUT_OF_RANGE');
  if (length > MAX_MAPPING) {
    throw invalidArgument(`The value of "length" is out of range. Node.js ArrayBuffers hold at most ${MAX_MAPPING} bytes. Received ${length}`, 'ERR_OUT_OF_RANGE');
  }
  const prot = checkFlags(o.prot ?? C.PROT_READ | C.PROT_WRITE, 'prot', C.PROT_READ | C.PROT_WRITE);
  if ((prot & C.PROT_READ) === 0) throw invalidArgument(`The "prot" option must include PROT_READ: JavaScript reads an ArrayBuffer freely. Received ${prot}`);
  let size: number | undefined;
  try {
    const st = fs.fstatSync(fd);
    if (st.isFile()) size = st.size;
  } catch {
    // Not fstat-able: let mmap report the error.
  }
  if (size !== undefined && offset + length > size) {
    throw invalidArgument(`The range ${offset}..${offset + length} is past the end of the file (${size} bytes); touching it would raise SIGBUS`, 'ERR_OUT_OF_RANGE');
  }
  const r = native.mmap(fd, offset, length, prot);
  if (typeof r === 'number') throw systemError('mmap', r, { fd });
  return r;
}

/**
 * Unmaps a mapping made by {@link mmapFd}, synchronously: the ArrayBuffer is detached first, so
 * existing views read as length 0 and can no longer touch the memory. Idempotent: unmapping twice,
 * after GC, or an ArrayBuffer that is not a mapping does nothing.
 *
 * @throws system error (`syscall: 'munmap'`)
 */
export function munmap(arrayBuffer: ArrayBuffer): void {
  check(native.munmap(checkArrayBuffer(arrayBuffer)), 'munmap');
}

/** The address of a live mapping made by {@link mmapFd}; `0n` once unmapped or for other ArrayBuffers. */
export function mappingAddress(arrayBuffer: ArrayBuffer): bigint {
  return native.mappingAddress(checkArrayBuffer(arrayBuffer));
}

/** `madvise` advice by name. */
export type MadviseAdvice = 'dontneed' | 'remove' | 'hugepage' | 'nohugepage' | 'populate-read' | 'populate-write' | 'willneed';

const ADVICE: Record<MadviseAdvice, number> = {
  dontneed: C.MADV_DONTNEED,
  remove: C.MADV_REMOVE,
  hugepage: C.MADV_HUGEPAGE,
  nohugepage: C.MADV_NOHUGEPAGE,
  'populate-read': C.MADV_POPULATE_READ,
  'populate-write': C.MADV_POPULATE_WRITE,
  willneed: C.MADV_WILLNEED,
};

/**
 * `madvise` over part of a mapping made by {@link mmapFd}: e.g. `'populate-write'` faults the pages
 * in, `'remove'` frees the backing memfd pages (a hole punch), `'dontneed'` drops the page-table
 * entries (shared memfd data stays).
 *
 * @param advice - a name, or one of the `MADV_*` values in {@link constants}
 * @param offset - page-aligned byte offset into the mapping (default 0)
 * @param length - bytes (default: to the end of the mapping); offset + length ≤ byteLength
 * @throws system error (`syscall: 'madvise'`), e.g. EINVAL (advice the kernel lacks), EPERM
 */
export function madvise(arrayBuffer: ArrayBuffer, advice: MadviseAdvice | number, offset = 0, length?: number): void {
  checkMapped(arrayBuffer);
  let adv: number | undefined;
  if (typeof advice === 'string') adv = Object.hasOwn(ADVICE, advice) ? ADVICE[advice] : undefined;
  else if (typeof advice === 'number') adv = Object.values(ADVICE).includes(advice) ? advice : undefined;
  if (adv === undefined) throw invalidArgument(`The "advice" argument must be one of ${Object.keys(ADVICE).join(', ')} or its MADV_* value. Received ${describe(advice)}`);
  const { off, len } = checkRange(arrayBuffer, offset, length);
  checkAligned(off, 'offset');
  check(native.madvise(arrayBuffer, off, len, adv), 'madvise');
}

function checkRange(ab: ArrayBuffer, offset: unknown, length: unknown): { off: number; len: number } {
  const off = checkInt(offset, 'offset', 0, ab.byteLength - 1);
  const len = checkInt(length ?? ab.byteLength - off, 'length', 1, ab.byteLength - off);
  return { off, len };
}

/* ---------------- memfd ---------------- */

/** Options of {@link memfdCreate}. */
export interface MemfdOptions {
  /** `MFD_ALLOW_SEALING` (needed for seals and for udmabuf). Default false, as in the kernel. */
  allowSealing?: boolean;
  /** `MFD_HUGETLB`: back the memfd with hugetlbfs pages (needs reserved huge pages). */
  hugetlb?: boolean;
  /** With `hugetlb`, the huge page size in bytes (a power of two, e.g. 2 MiB, 1 GiB); default: the system's. */
  hugePageSize?: number;
  /** `MFD_CLOEXEC` (default true). */
  cloexec?: boolean;
}

/**
 * Creates an anonymous memory file (`memfd_create`). Size it with {@link ftruncate}.
 *
 * @param name - shown as `/memfd:<name>` in /proc; at most 249 UTF-8 bytes, no NUL
 * @returns the memfd
 * @throws system error (`syscall: 'memfd_create'`), e.g. EINVAL (huge page size not supported),
 *   EMFILE
 */
export function memfdCreate(name: string, options?: MemfdOptions): number {
  checkString(name, 'name', MAX_MEMFD_NAME_BYTES);
  const o = checkOptions<MemfdOptions>(options);
  const hugetlb = checkBool(o.hugetlb, 'hugetlb', false);
  let flags = (checkBool(o.cloexec, 'cloexec', true) ? C.MFD_CLOEXEC : 0) | (checkBool(o.allowSealing, 'allowSealing', false) ? C.MFD_ALLOW_SEALING : 0);
  if (hugetlb) flags |= C.MFD_HUGETLB;
  if (o.hugePageSize !== undefined) {
    const size = checkSize(o.hugePageSize, 'hugePageSize');
    const log2 = Math.log2(size);
    if (!hugetlb) throw invalidArgument('The "hugePageSize" option needs "hugetlb: true"');
    if (!Number.isInteger(log2) || log2 < 16 || log2 > 34) {
      throw invalidArgument(`The value of "hugePageSize" is out of range. It must be a power of two from 64 KiB to 16 GiB. Received ${size}`, 'ERR_OUT_OF_RANGE');
    }
    flags = (flags | (log2 << C.MFD_HUGE_SHIFT)) >>> 0;
  }
  return check(native.memfdCreate(name, flags), 'memfd_create');
}

/**
 * Sets a file's size (`ftruncate`).
 *
 * @param length - bytes, a safe integer ≥ 0
 * @throws system error (`syscall: 'ftruncate'`, with `fd`), e.g. EPERM under a shrink/grow seal
 */
export function ftruncate(fd: number, length: number): void {
  checkFd(fd);
  checkSize(length, 'length', 0);
  check(native.ftruncate(fd, length), 'ftruncate', { fd });
}

/** `fallocate` modes by name. `punchHole` implies `keepSize` (the kernel requires it). */
export interface FallocateMode {
  keepSize?: boolean;
  punchHole?: boolean;
}

/**
 * Allocates (default) or punches out (`{ punchHole: true }`) the pages of a file range.
 *
 * @param offset - byte offset, safe integer ≥ 0
 * @param length - bytes, safe integer > 0
 * @param mode - `FALLOC_FL_*` bits (KEEP_SIZE, PUNCH_HOLE; PUNCH_HOLE needs KEEP_SIZE) or names
 * @throws system error (`syscall: 'fallocate'`, with `fd`), e.g. ENOSPC, EPERM under seals
 */
export function fallocate(fd: number, offset: number, length: number, mode: number | FallocateMode = 0): void {
  checkFd(fd);
  checkSize(offset, 'offset', 0);
  checkSize(length, 'length');
  if (offset + length > Number.MAX_SAFE_INTEGER) throw invalidArgument(`offset + length must be a safe integer. Received ${offset} + ${length}`, 'ERR_OUT_OF_RANGE');
  let m: number;
  if (typeof mode === 'number') {
    m = checkFlags(mode, 'mode', C.FALLOC_FL_KEEP_SIZE | C.FALLOC_FL_PUNCH_HOLE);
    if (m & C.FALLOC_FL_PUNCH_HOLE && !(m & C.FALLOC_FL_KEEP_SIZE)) throw invalidArgument('FALLOC_FL_PUNCH_HOLE must be combined with FALLOC_FL_KEEP_SIZE');
  } else {
    const o = checkOptions<FallocateMode>(mode, 'mode');
    const punch = checkBool(o.punchHole, 'punchHole', false);
    m = (checkBool(o.keepSize, 'keepSize', false) || punch ? C.FALLOC_FL_KEEP_SIZE : 0) | (punch ? C.FALLOC_FL_PUNCH_HOLE : 0);
  }
  check(native.fallocate(fd, m, offset, length), 'fallocate', { fd });
}

/** memfd seals by name. */
export type SealName = 'seal' | 'shrink' | 'grow' | 'write' | 'future-write';

const SEALS: Record<SealName, number> = {
  seal: C.F_SEAL_SEAL,
  shrink: C.F_SEAL_SHRINK,
  grow: C.F_SEAL_GROW,
  write: C.F_SEAL_WRITE,
  'future-write': C.F_SEAL_FUTURE_WRITE,
};
const ALL_SEALS = Object.values(SEALS).reduce((a, b) => a | b, 0);

/** The names of the seals in a mask. */
export function sealNames(mask: number): SealName[] {
  return (Object.keys(SEALS) as SealName[]).filter((n) => (mask & SEALS[n]) !== 0);
}

/**
 * Adds seals to a memfd made with `allowSealing` (`fcntl(F_ADD_SEALS)`).
 *
 * @param seals - names such as `['shrink', 'grow']`, or an `F_SEAL_*` mask
 * @throws system error (`syscall: 'fcntl(F_ADD_SEALS)'`, with `fd`): EPERM when sealing is not
 *   allowed or sealed, EBUSY for `write` while a writable shared mapping exists, EINVAL (not a memfd)
 */
export function addSeals(fd: number, seals: readonly SealName[] | number): void {
  checkFd(fd);
  let mask = 0;
  if (Array.isArray(seals)) {
    for (const s of seals as unknown[]) {
      if (typeof s !== 'string' || !Object.hasOwn(SEALS, s)) throw invalidArgument(`Unknown seal ${describe(s)}; seals are ${Object.keys(SEALS).join(', ')}`);
      mask |= SEALS[s as SealName];
    }
  } else if (typeof seals === 'number') {
    mask = checkFlags(seals, 'seals', ALL_SEALS);
  } else {
    throw invalidArgument(`The "seals" argument must be an array of seal names or a number. Received ${describe(seals)}`);
  }
  check(native.addSeals(fd, mask), 'fcntl(F_ADD_SEALS)', { fd });
}

/**
 * The seals of a file (`fcntl(F_GET_SEALS)`), as an `F_SEAL_*` mask (see {@link sealNames}).
 * A memfd made without `allowSealing` reports `F_SEAL_SEAL`.
 *
 * @throws system error (`syscall: 'fcntl(F_GET_SEALS)'`, with `fd`), EINVAL for files without seals
 */
export function getSeals(fd: number): number {
  checkFd(fd);
  return check(native.getSeals(fd), 'fcntl(F_GET_SEALS)', { fd });
}

/* ---------------- udmabuf ---------------- */

/** One memfd range of a udmabuf. */
export interface UdmabufItem {
  memfd: number;
  /** Page-aligned byte offset into the memfd (default 0). */
  offset?: number;
  /** Page-aligned byte count > 0. */
  size: number;
}

function checkItem(item: unknown, name: string): Required<UdmabufItem> {
  const o = checkOptions<UdmabufItem>(item, name);
  const memfd = checkFd(o.memfd, `${name}.memfd`);
  const offset = checkAligned(checkSize(o.offset ?? 0, `${name}.offset`, 0), `${name}.offset`);
  const size = checkAligned(checkSize(o.size, `${name}.size`), `${name}.size`);
  if (offset + size > Number.MAX_SAFE_INTEGER) throw invalidArgument(`${name}: offset + size must be a safe integer`, 'ERR_OUT_OF_RANGE');
  return { memfd, offset, size };
}

/**
 * Turns a memfd range into a dma-buf (`UDMABUF_CREATE`). The memfd needs `allowSealing`, the
 * `shrink` seal, and no `write`/`future-write` seal; the size limit is `size_limit_mb`
 * (see {@link readUdmabufLimits}).
 *
 * @param devFd - fd of `/dev/udmabuf`, opened `O_RDWR`
 * @returns the dma-buf fd (close-on-exec unless `cloexec: false`)
 * @throws system error (`syscall: 'ioctl(UDMABUF_CREATE)'`, `fd: devFd`): EINVAL (seals, limits),
 *   EBADFD (not a memfd), ENOTTY (devFd is not /dev/udmabuf)
 */
export function udmabufCreate(devFd: number, options: UdmabufItem & { cloexec?: boolean }): number {
  checkFd(devFd, 'devFd');
  const item = checkItem(options, 'options');
  const cloexec = checkBool(options.cloexec, 'cloexec', true);
  const flags = cloexec ? C.UDMABUF_FLAGS_CLOEXEC : 0;
  return check(native.udmabufCreate(devFd, item.memfd, item.offset, item.size, flags), 'ioctl(UDMABUF_CREATE)', { fd: devFd });
}

/**
 * One dma-buf over several memfd ranges (`UDMABUF_CREATE_LIST`); at most `list_limit` items.
 *
 * @throws system error (`syscall: 'ioctl(UDMABUF_CREATE_LIST)'`, `fd: devFd`), as {@link udmabufCreate}
 */
export function udmabufCreateList(devFd: number, items: readonly UdmabufItem[], options?: { cloexec?: boolean }): number {
  checkFd(devFd, 'devFd');
  if (!Array.isArray(items) || items.length === 0) throw invalidArgument(`The "items" argument must be a non-empty array. Received ${describe(items)}`);
  const triples = new Float64Array(items.length * 3);
  items.forEach((it: unknown, i) => {
    const { memfd, offset, size } = checkItem(it, `items[${i}]`);
    triples.set([memfd, offset, size], i * 3);
  });
  const cloexec = checkBool(checkOptions<{ cloexec: boolean }>(options).cloexec, 'cloexec', true);
  return check(native.udmabufCreateList(devFd, cloexec ? C.UDMABUF_FLAGS_CLOEXEC : 0, triples), 'ioctl(UDMABUF_CREATE_LIST)', { fd: devFd });
}

/* ---------------- benchmark ---------------- */

/**
 * The dma-buf heap selftest loop, run entirely in C: `iterations` × (`DMA_HEAP_IOCTL_ALLOC` of
 * `len` bytes with `O_RDWR|O_CLOEXEC`, then close), timed with CLOCK_MONOTONIC. Blocks the thread.
 *
 * @returns total nanoseconds
 * @throws system error (`syscall: 'ioctl(DMA_HEAP_IOCTL_ALLOC)'`, `fd: heapFd`) of the first failure
 */
export function seedLoop(heapFd: number, len: number, iterations: number): number {
  checkFd(heapFd, 'heapFd');
  checkSize(len, 'len');
  checkSize(iterations, 'iterations');
  return check(native.seedLoop(heapFd, len, iterations), 'ioctl(DMA_HEAP_IOCTL_ALLOC)', { fd: heapFd });
}

/* ---------------- /proc and /sys ---------------- */

/** `/proc/self/fdinfo/<fd>`, parsed. */
export interface FdInfo {
  /** File position. */
  pos: number;
  /** Open flags (octal in the file), `O_CLOEXEC` included when set on the fd. */
  flags: number;
  mntId: number;
  ino?: number;
  /** dma-buf: size in bytes. */
  size?: number;
  /** dma-buf: references to the file other than procfs's own. */
  count?: number;
  /** dma-buf: exporter (`system`, `udmabuf`, a CMA heap name). */
  expName?: string;
  /** dma-buf: name set with {@link bufSetName}. */
  name?: string;
  /** Every `key: value` line as text. */
  raw: Record<string, string>;
}

/**
 * Reads and parses `/proc/self/fdinfo/<fd>`.
 *
 * @throws system error EBADF (`syscall: 'open'`, with `fd` and `path`) when the fd is not open
 */
export function readFdInfo(fd: number): FdInfo {
  checkFd(fd);
  const path = `/proc/self/fdinfo/${fd}`;
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw systemError('open', -EBADF, { fd, path });
    throw e;
  }
  const raw: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const rest = line.slice(colon + 1);
    raw[line.slice(0, colon)] = rest.startsWith('\t') ? rest.slice(1) : rest.trimStart();
  }
  const int = (key: string, radix = 10) => (raw[key] === undefined ? undefined : Number.parseInt(raw[key], radix));
  const info: FdInfo = { pos: int('pos') ?? 0, flags: int('flags', 8) ?? 0, mntId: int('mnt_id') ?? 0, raw };
  const ino = int('ino'), size = int('size'), count = int('count');
  if (ino !== undefined) info.ino = ino;
  if (size !== undefined) info.size = size;
  if (count !== undefined) info.count = count;
  if (raw['exp_name'] !== undefined) info.expName = raw['exp_name'];
  if (raw['name'] !== undefined) info.name = raw['name'];
  return info;
}

/** Names of the dma-buf heaps in `dir` (sorted); `[]` when the directory does not exist. */
export function listDmaHeaps(dir = '/dev/dma_heap'): string[] {
  checkString(dir, 'dir');
  try {
    return fs.readdirSync(dir).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
}

/** udmabuf module limits. */
export interface UdmabufLimits {
  /** Most items in one UDMABUF_CREATE_LIST (default 1024); undefined when not readable. */
  listLimit: number | undefined;
  /** Largest udmabuf in MiB (default 64); undefined when not readable. */
  sizeLimitMb: number | undefined;
}

/** Reads `list_limit` and `size_limit_mb` from the udmabuf module's parameters (undefined when absent). */
export function readUdmabufLimits(dir = '/sys/module/udmabuf/parameters'): UdmabufLimits {
  checkString(dir, 'dir');
  const read = (name: string): number | undefined => {
    try {
      const n = Number.parseInt(fs.readFileSync(`${dir}/${name}`, 'utf8').trim(), 10);
      return Number.isFinite(n) ? n : undefined;
    } catch {
      return undefined;
    }
  };
  return { listLimit: read('list_limit'), sizeLimitMb: read('size_limit_mb') };
}

/** One virtual page as `/proc/self/pagemap` reports it. */
export interface PageInfo {
  /** Bit 63: the page is in RAM and mapped. */
  present: boolean;
  /** Bits 0–54: the page frame number (0 without CAP_SYS_ADMIN, or when not present). */
  pfn: bigint;
}

const PFN_MASK = (1n << 55n) - 1n;

/**
 * Per-page state of part of a mapping made by {@link mmapFd}, from `/proc/self/pagemap`.
 * Consecutive PFNs mean physically contiguous memory. A dma-buf's own mmap (VM_PFNMAP) reads as
 * absent everywhere; map the memfd instead.
 *
 * @param offset - byte offset into the mapping (default 0)
 * @param length - bytes (default: to the end); every page touching the range is reported
 */
export function pagemap(arrayBuffer: ArrayBuffer, offset = 0, length?: number): PageInfo[] {
  const addr = checkMapped(arrayBuffer);
  const { off, len } = checkRange(arrayBuffer, offset, length);
  const ps = BigInt(PAGE_SIZE);
  const first = (addr + BigInt(off)) / ps;
  const last = (addr + BigInt(off + len - 1)) / ps;
  const pages = Number(last - first + 1n);
  const buf = Buffer.alloc(pages * 8);
  const fd = fs.openSync('/proc/self/pagemap', 'r');
  try {
    let done = 0;
    while (done < buf.length) {
      const n = fs.readSync(fd, buf, done, buf.length - done, first * 8n + BigInt(done));
      if (n === 0) throw systemError('read', -5 /* EIO */, { path: '/proc/self/pagemap' });
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  const out: PageInfo[] = [];
  for (let i = 0; i < pages; i++) {
    const e = buf.readBigUInt64LE(i * 8);
    const present = (e >> 63n) === 1n;
    out.push({ present, pfn: present ? e & PFN_MASK : 0n });
  }
  return out;
}

/** How many fds this process has open (entries of /proc/self/fd, minus the one used to list them). */
export function openFdCount(): number {
  return fs.readdirSync('/proc/self/fd').length - 1;
}
