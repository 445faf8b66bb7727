// Mappings handed to JavaScript as external ArrayBuffers: mmap, munmap, madvise, and /proc/self/pagemap of them.
import { constants as bufferConstants } from 'node:buffer';
import * as fs from 'node:fs';
import { constants as C, native } from './binding.js';
import { invalidArgument, systemError } from './errors.js';
import { check, checkAligned, checkArrayBuffer, checkFd, checkFlags, checkInt, checkMapped, checkOptions, checkSize, describe, PAGE_SIZE } from './validate.js';

/** The largest mapping an ArrayBuffer can hold on this Node.js (4 GiB on Node 20). */
export const MAX_MAPPING: number = bufferConstants.MAX_LENGTH;

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
 * @returns `true`, or `false` when the memory is still mapped: this ArrayBuffer was detached by someone
 *   else (`ArrayBuffer.prototype.transfer`) and the memory lives on in the new one, which unmaps it when it
 *   is garbage-collected
 * @throws system error (`syscall: 'munmap'`)
 */
export function munmap(arrayBuffer: ArrayBuffer): boolean {
  return check(native.munmap(checkArrayBuffer(arrayBuffer)), 'munmap') === 0;
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
