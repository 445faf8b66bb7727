// memfd: anonymous memory files, their size, their pages (fallocate) and their seals.
import { constants as C, native } from './binding.js';
import { invalidArgument } from './errors.js';
import { check, checkBool, checkFd, checkFlags, checkOptions, checkSize, checkString, describe } from './validate.js';

/** memfd names: NAME_MAX (255) minus the "memfd:" prefix. */
const MAX_MEMFD_NAME_BYTES = 249;

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
