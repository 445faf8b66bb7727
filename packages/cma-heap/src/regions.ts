// What the kernel tells userspace about its CMA areas: totals in /proc/meminfo, per-area counters in
// /sys/kernel/mm/cma/<name>/ (CONFIG_CMA_SYSFS), and the allocator's own bitmap in
// /sys/kernel/debug/cma/<name>/ (CONFIG_CMA_DEBUGFS, root, debugfs mounted). The parsing is pure and
// tested on the host; the readers return undefined for whatever this kernel does not show.
import { readFileSync } from 'node:fs';
import { CMA_DEBUGFS_DIR, meminfoField, parseMeminfo as parseMeminfoFields } from '@dmaheap/core';

// Where the areas are and what each holds are kernel facts every package reads (@dmaheap/core's kernel.ts).
export { CMA_DEBUGFS_DIR, CMA_SYSFS_DIR, isCmaArea, readCmaArea, type CmaAreaInfo } from '@dmaheap/core';

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
  const fields = parseMeminfoFields(text);
  return { total: fields.get('CmaTotal'), free: fields.get('CmaFree') };
}

export function readCmaMeminfo(): CmaMeminfo {
  return { total: meminfoField('CmaTotal'), free: meminfoField('CmaFree') };
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
