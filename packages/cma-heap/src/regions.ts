// What the kernel tells userspace about its CMA areas: totals in /proc/meminfo, per-area counters in
// /sys/kernel/mm/cma/<name>/ (CONFIG_CMA_SYSFS), and the allocator's own bitmap in
// /sys/kernel/debug/cma/<name>/ (CONFIG_CMA_DEBUGFS, root, debugfs mounted). The parsing is pure and
// tested on the host; the readers return undefined for whatever this kernel does not show.
import { existsSync, readFileSync } from 'node:fs';

export const CMA_SYSFS_DIR = '/sys/kernel/mm/cma';
export const CMA_DEBUGFS_DIR = '/sys/kernel/debug/cma';

/** `CmaTotal` and `CmaFree` from /proc/meminfo, in bytes (undefined on a kernel without CMA). */
export interface CmaMeminfo {
  total: number | undefined;
  /**
   * Free pages in CMA pageblocks. Movable pages (page cache, anonymous memory) may sit in CMA and lower it;
   * the CMA allocator migrates them away, so an allocation can succeed beyond it.
   */
  free: number | undefined;
}

export function parseMeminfo(text: string): CmaMeminfo {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  return { total: field('CmaTotal'), free: field('CmaFree') };
}

export function readCmaMeminfo(): CmaMeminfo {
  try {
    return parseMeminfo(readFileSync('/proc/meminfo', 'utf8'));
  } catch {
    return { total: undefined, free: undefined };
  }
}

function readNumber(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** One CMA area as sysfs and debugfs show it; every field undefined where the kernel does not show it. */
export interface CmaAreaInfo {
  name: string;
  /** First physical frame of the area (debugfs `base_pfn`). */
  basePfn: number | undefined;
  /** Pages in the area (debugfs `count`). */
  pages: number | undefined;
  /** Pages handed out (debugfs `used`). */
  usedPages: number | undefined;
  /** The largest run of free pages: the largest allocation possible now (debugfs `maxchunk`). */
  maxChunkPages: number | undefined;
  /** Pages per bitmap bit, as an order (debugfs `order_per_bit`). */
  orderPerBit: number | undefined;
  /** Counters since boot (sysfs): pages allocated, pages asked for in failed allocations, pages released. */
  allocPagesSuccess: number | undefined;
  allocPagesFail: number | undefined;
  releasePagesSuccess: number | undefined;
}

/**
 * Whether `name` is a CMA area: true or false where the kernel lists its areas (sysfs or debugfs), undefined
 * where it lists none (no CONFIG_CMA_SYSFS, debugfs not mounted or not readable).
 */
export function isCmaArea(name: string, dirs = { sysfs: CMA_SYSFS_DIR, debugfs: CMA_DEBUGFS_DIR }): boolean | undefined {
  for (const dir of [dirs.sysfs, dirs.debugfs]) {
    if (existsSync(dir)) return existsSync(`${dir}/${name}`);
  }
  return undefined;
}

export function readCmaArea(name: string, dirs = { sysfs: CMA_SYSFS_DIR, debugfs: CMA_DEBUGFS_DIR }): CmaAreaInfo {
  const dbg = (f: string) => readNumber(`${dirs.debugfs}/${name}/${f}`);
  const sys = (f: string) => readNumber(`${dirs.sysfs}/${name}/${f}`);
  return {
    name,
    basePfn: dbg('base_pfn'),
    pages: dbg('count'),
    usedPages: dbg('used'),
    maxChunkPages: dbg('maxchunk'),
    orderPerBit: dbg('order_per_bit'),
    allocPagesSuccess: sys('alloc_pages_success'),
    allocPagesFail: sys('alloc_pages_fail'),
    releasePagesSuccess: sys('release_pages_success'),
  };
}

/** The allocator's bitmap (debugfs `bitmap`: 32-bit words, space-separated, bit i = page run i). */
export function parseBitmap(text: string): Uint32Array {
  const words = text.trim().split(/\s+/).filter((w) => w.length > 0);
  const out = new Uint32Array(words.length);
  for (let i = 0; i < words.length; i++) {
    const n = Number(words[i]);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`not a CMA bitmap word: ${JSON.stringify(words[i])}`);
    out[i] = n;
  }
  return out;
}

export function readCmaBitmap(name: string, debugfs = CMA_DEBUGFS_DIR): Uint32Array | undefined {
  try {
    return parseBitmap(readFileSync(`${debugfs}/${name}/bitmap`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The bits set in `after` and clear in `before`, when they form exactly one run: where one allocation made
 * between the two reads landed. Undefined when nothing or more than one run appeared (another allocation
 * raced with it), so the caller cannot tell which run is its own.
 */
export function newRun(before: Uint32Array, after: Uint32Array): { firstBit: number; bits: number } | undefined {
  if (before.length !== after.length) return undefined;
  let first = -1;
  let end = -1;
  for (let w = 0; w < after.length; w++) {
    const added = (after[w]! & ~before[w]!) >>> 0;
    if (added === 0) continue;
    for (let b = 0; b < 32; b++) {
      if ((added & (1 << b)) === 0) continue;
      const bit = w * 32 + b;
      if (first < 0) {
        first = bit;
        end = bit + 1;
      } else if (bit === end) {
        end++;
      } else {
        return undefined; // a second run
      }
    }
  }
  return first < 0 ? undefined : { firstBit: first, bits: end - first };
}

/** Whether frame numbers follow each other with no gap: one physically contiguous block. */
export function consecutive(pfns: readonly bigint[]): boolean {
  for (let i = 1; i < pfns.length; i++) if (pfns[i] !== pfns[i - 1]! + 1n) return false;
  return pfns.length > 0;
}

/** The largest order `n` such that `pfn` is a multiple of 2^n pages (capped at 63). */
export function pfnAlignmentOrder(pfn: bigint): number {
  if (pfn === 0n) return 63;
  let n = 0;
  while (n < 63 && (pfn & (1n << BigInt(n))) === 0n) n++;
  return n;
}
