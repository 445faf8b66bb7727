// The report: its JSON shape, ratios to the kernel heap, and the tables printed on the terminal.
import { calibrationRows, formatShares, type Calibration, COST_NAMES } from './emulation.js';
import type { Result, Scenario } from './measure.js';
import type { PressureInfo } from './pressure.js';
import { crossesOne, roundRatios, spreadOf } from './rounds.js';
import type { RoundOptions } from './scenarios.js';

/** 3: the seed loop in rounds (ratios are medians of per-round ratios, with spreads), the calibration block. */
export const FORMAT = 'dmaheap-bench/3';
/** Formats --render and --merge still read. */
export const READABLE_FORMATS: readonly string[] = ['dmaheap-bench/2', FORMAT];

export interface Machine {
  kernel: string;
  /** `process.arch` where it ran (absent in reports from before it was recorded). */
  arch?: string;
  node: string;
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  inVm: boolean;
  /** Under software emulation (QEMU TCG): the numbers are ratios, not absolute speeds. */
  emulated: boolean;
}

export interface BenchReport {
  format: string;
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
    /** `quick`, `default` or `full` (format 3). */
    mode?: string;
    /** The seed loop's interleaved rounds (format 3). */
    rounds?: RoundOptions;
    /** Sizes of the scenarios other than the seed loop, when fewer. */
    otherSizes?: number[];
    /** Least length of a pressure run, ms. */
    pressureMs?: number;
  };
  /** What zeroing, a system call, a JavaScript call and an allocation cost here (and on the host), and what dominates each scenario. */
  calibration?: Calibration;
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
  mergedRuns?: Array<{ date: string; machine: Machine; variants: string[]; calibration?: Calibration }>;
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

/**
 * Sets each result's ratio to the kernel heap's result of the same scenario and size: with rounds, the median of
 * the per-round ratios (to the kernel's turns around each round's turn), with their spread; else the ratio of the
 * two ns/call.
 */
export function addRatios(results: Result[]): void {
  for (const r of results) {
    const k = results.find((x) => x.variant === 'kernel' && x.size === r.size && x.scenario === r.scenario);
    delete r.ratioRounds;
    delete r.ratioSpread;
    delete r.ratioCrossesOne;
    delete r.meanRatio;
    // The reference's turns around each of this heap's (reports before those had one kernel turn per round).
    const refRounds = r.variant === 'kernel' ? r.rounds : (r.reference?.rounds ?? k?.rounds);
    const refMeans = r.variant === 'kernel' ? r.roundMeans : (r.reference?.means ?? k?.roundMeans);
    const means = refMeans && r.roundMeans ? roundRatios(refMeans, r.roundMeans) : [];
    if (means.length) r.meanRatio = spreadOf(means);
    const perRound = refRounds && r.rounds ? roundRatios(refRounds, r.rounds) : [];
    if (perRound.length) {
      const s = spreadOf(perRound);
      r.ratioToKernel = s.median;
      r.ratioRounds = perRound;
      r.ratioSpread = { min: s.min, max: s.max };
      r.ratioCrossesOne = crossesOne(s);
    } else if (k && r.nsPerCall > 0) r.ratioToKernel = k.nsPerCall / r.nsPerCall;
    else delete r.ratioToKernel;
  }
}

/** `×0.92`, `×12.4`, `×2605`. */
export function formatRatio(x: number): string {
  return `×${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)}`;
}

/** A ratio with its spread and flags: `×0.92 [0.85–1.10]?~` (`?`: the spread crosses 1; `~`: not a hardware figure). */
export function ratioText(r: Pick<Result, 'ratioToKernel' | 'ratioSpread' | 'ratioCrossesOne' | 'hardware'>): string {
  if (r.ratioToKernel === undefined) return '';
  const spread = r.ratioSpread ? ` [${formatRatio(r.ratioSpread.min).slice(1)}–${formatRatio(r.ratioSpread.max).slice(1)}]` : '';
  return `${formatRatio(r.ratioToKernel)}${spread}${ratioFlags(r)}`;
}

export function ratioFlags(r: Pick<Result, 'ratioCrossesOne' | 'hardware'>): string {
  return `${r.ratioCrossesOne ? '?' : ''}${r.hardware && !r.hardware.holds ? '~' : ''}`;
}

/** What `?` and `~` mean, for the lines under a table (only the flags it uses). */
export function flagLegend(results: readonly Result[]): string[] {
  const out: string[] = [];
  if (results.some((r) => r.ratioSpread)) {
    out.push(
      '×N [a–b]: the median and the least and greatest of the per-round ratios, each the kernel heap\'s median call ÷ this heap\'s median call in the same round; ns per call: the mean over every call of every round (the seed\'s figure)',
    );
  }
  if (results.some((r) => r.ratioCrossesOne)) out.push('?: the spread crosses 1, so which of the two is faster is not settled by this run');
  if (results.some((r) => r.hardware && !r.hardware.holds)) {
    out.push('~: not a hardware figure: emulation inflates what this heap spends its time on and what the kernel heap does by different factors (calibration block below)');
  }
  return out;
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
    mergedRuns: [...(main.mergedRuns ?? []), { date: other.date, machine: other.machine, variants, ...(other.calibration ? { calibration: other.calibration } : {}) }],
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
      const ratio = r.ratioToKernel === undefined || id === 'kernel' ? '' : ` ${ratioText(r)}`;
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
    ...flagLegend(mine).map((l) => `  ${l}`),
  ].join('\n');
}

/** The calibration block for the terminal: the figures here and on the host, and what dominates each scenario. */
export function calibrationText(report: Pick<BenchReport, 'calibration' | 'machine' | 'results'>): string {
  const cal = report.calibration;
  if (!cal) return 'calibration: none in this report';
  const rows = calibrationRows(cal);
  const whereHere = report.machine.inVm ? `guest${report.machine.emulated ? ' (emulated)' : ''}` : 'this machine';
  const head = ['what', `here: ${whereHere}`, cal.host ? `host (${cal.host.kernel})` : 'host', cal.host ? 'here ÷ host (time)' : ''];
  const cells = [head, ...rows.map((r) => [r.what, r.here, r.host || (cal.host ? '-' : 'not measured'), r.factor])];
  const widths = head.map((_, c) => Math.max(...cells.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  const out = [`calibration: what each kind of work costs here${cal.host ? ' and on the host, and how much slower it is here' : ''}`, line(head), ...cells.slice(1).map(line)];
  if (cal.dominance.length) {
    out.push('', "what the kernel heap's call is made of, per scenario and size (measured for the seed loop from the kernel heap and its C loop; estimated from the calibration otherwise):");
    for (const d of cal.dominance) {
      out.push(`  ${d.scenario.padEnd(12)} ${(d.scenario === 'mix' ? 'mix' : formatSize(d.size)).padStart(7)}  dominated by ${COST_NAMES[d.dominant]}: ${formatShares(d.shares)}${d.measured ? '' : ' (estimated)'}`);
    }
  }
  out.push(...hardwareSummary(report));
  return out.join('\n');
}

/** Per scenario: how many of its ratios carry over to hardware by the calibration, and how many do not. */
export function hardwareSummary(report: Pick<BenchReport, 'calibration' | 'machine' | 'results'>): string[] {
  if (!report.machine.emulated) return [];
  if (!report.calibration?.inflation) return ['', 'No host calibration: which ratios hold on hardware is not known from this run.'];
  const out = ['', 'On hardware (from the calibration: a ratio holds when emulation inflates both sides\' main costs within a factor 2 of each other):'];
  for (const scenario of SCENARIO_ORDER) {
    const mine = report.results.filter((r) => r.scenario === scenario && r.hardware);
    if (!mine.length) continue;
    const holds = mine.filter((r) => r.hardware!.holds).length;
    out.push(`  ${scenario}: ${holds} of ${mine.length} ratios hold; ${mine.length - holds} are distorted by emulation (marked ~)`);
  }
  return out;
}

/** The pressure scenario's lines: what made the pressure, how much stall it caused, and what the pools gave back. */
export function pressureText(p: PressureInfo): string[] {
  const ms = (us: number) => `${(us / 1000).toFixed(1)} ms`;
  const stall = p.stallUs !== undefined ? `; memory stall (PSI some, system-wide) grew ${ms(p.stallUs)}` : '';
  const head =
    p.source === 'cgroup'
      ? `pressure: a child read ${p.file ?? 'a file'} over and over in a memory cgroup of ${formatBytes(p.cgroupLimitBytes ?? 0)}` +
        `${p.passes !== undefined ? ` (${p.passes} passes` : ' ('}` +
        `${p.cgroupEvents ? `; cgroup memory.events: ${Object.entries(p.cgroupEvents).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}` : ''})` +
        `${stall}${p.cgroupStallUs !== undefined ? `, the cgroup's own ${ms(p.cgroupStallUs)}` : ''}${p.hogLost ? '; the child was gone before the end' : ''}`
      : `pressure: another process held ${formatBytes(p.heldBytes ?? 0)} of ${formatBytes(p.availableBefore)} available${stall}${p.hogLost ? '; the OOM killer took it' : ''}`;
  const lines = [head];
  if (p.pools) {
    if (p.pools.length === 0) lines.push('  no pooling heap ran in it');
    for (const r of p.pools) {
      const levels = r.levels.map((l) => `${l.level} ${l.pressureEvents} pressure event${l.pressureEvents === 1 ? '' : 's'}, ${formatBytes(l.trimmedBytes)} trimmed`).join('; ');
      lines.push(`  ${r.label}: ${levels}${r.variant === 'system-cold' ? ' (its pool is also emptied before every call, by design)' : ''}`);
    }
  }
  return lines;
}
