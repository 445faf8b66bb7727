// The report: its JSON shape, ratios to the kernel heap, and the tables printed on the terminal.
import type { Result, Scenario } from './measure.js';
import type { PressureInfo } from './pressure.js';

export const FORMAT = 'dmaheap-bench/2';

export interface Machine {
  kernel: string;
  node: string;
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  inVm: boolean;
  /** Under software emulation (QEMU TCG): the numbers are ratios, not absolute speeds. */
  emulated: boolean;
}

export interface BenchReport {
  format: typeof FORMAT;
  date: string;
  machine: Machine;
  options: {
    sizes: number[];
    iterations: number;
    maxMs: number;
    warmup: number;
    minIterations: number;
    quick: boolean;
    scenarios: string[];
  };
  /** What a scenario ran with, beyond its results. */
  scenarioInfo: {
    mix?: { pattern: number[]; live: number };
    workers?: { threads: number };
    pressure?: PressureInfo;
  };
  skipped: Array<{ variant: string; label: string; reason: string }>;
  /** Runs that threw (absent when none did). */
  failures?: Array<{ scenario: Scenario; variant: string; size: number; error: string }>;
  results: Result[];
  /** Other boots whose results were merged in (`--merge`), e.g. the CMA test kernel's. */
  mergedRuns?: Array<{ date: string; machine: Machine; variants: string[] }>;
}

/** The order scenarios run and are shown in. */
export const SCENARIO_ORDER: readonly Scenario[] = ['seed', 'mix', 'touch', 'sync-private', 'sync-shared', 'workers', 'pressure', 'share'];

export const SCENARIO_TITLES: Record<Scenario, string> = {
  seed: 'seed loop: allocate + close the same size',
  mix: 'camera-like: 1080p and 4K NV12 frames with 4 KiB metadata buffers, several alive at once',
  touch: 'allocate + map + touch every page inside withCpuAccess + close',
  'sync-private': 'beginCpuAccess + endCpuAccess, fd never read (no importer)',
  'sync-shared': 'beginCpuAccess + endCpuAccess, fd dup’ed and held (an importer attached)',
  workers: 'seed loop in worker threads at once (aggregate ns per call)',
  pressure: 'seed loop while another process holds most free memory',
  share: 'per frame: allocate, send the fd to a consumer process, it reads and closes it, then close (the pool recycles)',
};

/** Sets each result's ratio to the kernel heap's result of the same scenario and size. */
export function addRatios(results: Result[]): void {
  for (const r of results) {
    const k = results.find((x) => x.variant === 'kernel' && x.size === r.size && x.scenario === r.scenario);
    if (k && r.nsPerCall > 0) r.ratioToKernel = k.nsPerCall / r.nsPerCall;
    else delete r.ratioToKernel;
  }
}

/**
 * `main` with the results of `other` (a run on another kernel, such as the CMA test kernel) for the heaps `main`
 * has no results for. Each merged result keeps the ratio of its own run, to that run's kernel heap, and names
 * its kernel; the heaps are no longer listed as skipped. `other`'s kernel heap rows are left out.
 */
export function mergeRuns(main: BenchReport, other: BenchReport): BenchReport {
  const have = new Set(main.results.map((r) => r.variant));
  const added = other.results.filter((r) => !have.has(r.variant)).map((r) => ({ ...r, kernel: other.machine.kernel }));
  const variants = [...new Set(added.map((r) => r.variant))];
  const failures = [...(main.failures ?? []), ...(other.failures ?? []).filter((f) => !have.has(f.variant))];
  return {
    ...main,
    skipped: main.skipped.filter((s) => !variants.includes(s.variant)),
    ...(failures.length ? { failures } : {}),
    results: [...main.results, ...added],
    mergedRuns: [...(main.mergedRuns ?? []), { date: other.date, machine: other.machine, variants }],
  };
}

/** A result's name in tables: its label, and the kernel when it ran in another boot. */
export function resultLabel(r: Pick<Result, 'label' | 'kernel'>): string {
  return r.kernel ? `${r.label} [${r.kernel}]` : r.label;
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** `4K`, `1M`, `1.5M`, `4096` → bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: ${JSON.stringify(text)} (use e.g. 4K, 1M, 8M)`);
  return Math.round(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!);
}

export function formatSize(bytes: number): string {
  for (const [u, n] of [['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n} ${u}iB`;
  }
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${bytes} B`;
}

/** An amount of memory, rounded: `965 MiB`, `2.9 GiB`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${Math.round(bytes / 1024 ** 2)} MiB`;
  return `${Math.round(bytes / 1024)} KiB`;
}

export function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${Math.round(ns)} ns`;
}

/** One scenario's table: a row per heap, a column per size, ns/call with the ratio to the kernel heap. */
export function table(results: Result[], scenario: Scenario = 'seed'): string {
  const mine = results.filter((r) => r.scenario === scenario);
  const sizes = [...new Set(mine.map((r) => r.size))].sort((a, b) => a - b);
  const variants = [...new Map(mine.map((r) => [r.variant, resultLabel(r)])).entries()];
  const head = ['heap', ...sizes.map((s) => (scenario === 'mix' ? 'mix' : formatSize(s)))];
  const rows = variants.map(([id, label]) => [
    label,
    ...sizes.map((s) => {
      const r = mine.find((x) => x.variant === id && x.size === s);
      if (!r) return '-';
      const ratio = r.ratioToKernel === undefined || id === 'kernel' ? '' : ` ×${r.ratioToKernel.toFixed(2)}`;
      return `${formatNs(r.nsPerCall)}${ratio}`;
    }),
  ]);
  const widths = head.map((_, c) => Math.max(...[head, ...rows].map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [
    `${scenario}: ${SCENARIO_TITLES[scenario]} (ns per call; ×N: kernel heap time / this heap time, higher is faster)`,
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
  ].join('\n');
}
