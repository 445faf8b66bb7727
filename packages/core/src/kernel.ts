// What the kernel tells userspace about dma-buf heaps and memory, read in one place for every package: the heap
// nodes, /proc/meminfo, the CMA areas (sysfs and debugfs) and which heaps are CMA heaps. Parsers take text and
// are pure (doctor runs them over a FAKE machine); readers return undefined or [] for what this kernel does not
// show. Facts that must be measured rather than read (page clearing, memory cgroup charging) are
// @dmaheap/native's probes.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Where dma-buf heaps appear (`/dev/dma_heap/<name>`, CONFIG_DMABUF_HEAPS). */
export const DMA_HEAP_DIR = '/dev/dma_heap';
/** udmabuf's device (CONFIG_UDMABUF). */
export const UDMABUF_DEVICE = '/dev/udmabuf';
/** Per-area CMA counters (CONFIG_CMA_SYSFS). */
export const CMA_SYSFS_DIR = '/sys/kernel/mm/cma';
/** The CMA allocator's own view of each area (CONFIG_CMA_DEBUGFS; root, debugfs mounted). */
export const CMA_DEBUGFS_DIR = '/sys/kernel/debug/cma';

/**
 * The names kernels give the CMA heap of their default area, most recent first: `default_cma_region` (6.17
 * on), `linux,cma` (the device tree's default area), `reserved` (an area from `cma=` on the command line). Since
 * 6.19 every CMA area has a heap named after it, so a heap whose name is a CMA area is a CMA heap too.
 */
export const DEFAULT_CMA_HEAP_NAMES = ['default_cma_region', 'linux,cma', 'reserved'] as const;

/** `/proc/meminfo` as a map: `kB` fields in bytes, counts (HugePages_*) as they are. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^([\w()]+):\s+(\d+)( kB)?$/gm)) out.set(m[1]!, Number(m[2]) * (m[3] ? 1024 : 1));
  return out;
}

/** One `/proc/meminfo` field (bytes for `kB` fields), read now; undefined when absent or unreadable. */
export function meminfoField(field: string, text?: string): number | undefined {
  try {
    return parseMeminfo(text ?? readFileSync('/proc/meminfo', 'utf8')).get(field);
  } catch {
    return undefined;
  }
}

function list(dir: string): string[] | undefined {
  try {
    return readdirSync(dir);
  } catch {
    return undefined;
  }
}

/** The heap nodes under `/dev/dma_heap`, sorted ([] without dma-buf heaps). */
export function heapNodeNames(dir = DMA_HEAP_DIR): string[] {
  return (list(dir) ?? []).sort();
}

/** The kernel's CMA areas by name, and where it lists them; `names` undefined where it lists none. */
export function cmaAreaNames(dirs = { sysfs: CMA_SYSFS_DIR, debugfs: CMA_DEBUGFS_DIR }): { names: string[] | undefined; from: 'sysfs' | 'debugfs' | null } {
  const sysfs = list(dirs.sysfs);
  if (sysfs) return { names: sysfs.sort(), from: 'sysfs' };
  const debugfs = list(dirs.debugfs);
  return debugfs ? { names: debugfs.sort(), from: 'debugfs' } : { names: undefined, from: null };
}

/**
 * Which of `heaps` are CMA heaps, the default area's first: a heap named after a CMA area the kernel lists, or
 * one of the default names ({@link DEFAULT_CMA_HEAP_NAMES}: 6.17's `default_cma_region` is named after no area).
 */
export function cmaHeapNames(heaps: readonly string[], areas: readonly string[] | undefined): string[] {
  const defaults = DEFAULT_CMA_HEAP_NAMES.filter((n) => heaps.includes(n));
  const named = heaps.filter((h) => areas?.includes(h) && !defaults.includes(h as never)).sort();
  return [...defaults, ...named];
}

/** The CMA heaps this kernel has now, the default area's first. */
export function kernelCmaHeaps(): string[] {
  return cmaHeapNames(heapNodeNames(), cmaAreaNames().names);
}

/**
 * Whether a kernel heap hands out buffers the CPU maps uncached (write-combined): the heaps named `*-uncached`
 * or `*_uncached` (Android's `system-uncached`, vendors' CMA variants). Mainline (6.12 to 6.19) has none.
 */
export function isUncachedHeapName(name: string): boolean {
  return /[-_]uncached$/.test(name);
}

/** Whether `name` is a CMA area: true or false where the kernel lists its areas, undefined where it lists none. */
export function isCmaArea(name: string, dirs = { sysfs: CMA_SYSFS_DIR, debugfs: CMA_DEBUGFS_DIR }): boolean | undefined {
  for (const dir of [dirs.sysfs, dirs.debugfs]) {
    if (existsSync(dir)) return existsSync(`${dir}/${name}`);
  }
  return undefined;
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

export function readCmaArea(name: string, dirs = { sysfs: CMA_SYSFS_DIR, debugfs: CMA_DEBUGFS_DIR }, read: (path: string) => number | undefined = readNumber): CmaAreaInfo {
  const dbg = (f: string) => read(`${dirs.debugfs}/${name}/${f}`);
  const sys = (f: string) => read(`${dirs.sysfs}/${name}/${f}`);
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
