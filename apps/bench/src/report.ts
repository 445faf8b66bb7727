// The report's words and tables, the same on the terminal and in the HTML page: formats, the grid of a scenario
// (a row per heap, a column per size), ratios with their spreads and flags, the calibration block, the pressure
// lines; and the merge of a second boot into a report. Pure functions.
import type { BenchReport, Calibration, Cost, PoolRelief, PressureInfo, Result, Scenario, Shares } from './types.js';

/** Each scenario's title, in the order the scenarios are shown. */
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
export const SCENARIO_ORDER = Object.keys(SCENARIO_TITLES) as Scenario[];
export const COST_NAMES: Record<Cost, string> = { 'kernel-zero': 'zeroing in the kernel', 'user-zero': 'zeroing in userspace', syscalls: 'system calls', js: 'JavaScript' };
const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** `4K`, `1M`, `1.5M`, `4096` → bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: ${JSON.stringify(text)} (use e.g. 4K, 1M, 8M)`);
  return Math.round(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!);
}

// (The page's chart script gets formatNs too: it must refer to nothing outside itself.)
export function formatSize(bytes: number): string {
  for (const [u, n] of [['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) if (bytes >= n && bytes % n === 0) return `${bytes / n} ${u}iB`;
  return bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MiB` : `${bytes} B`;
}

export function formatNs(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(1)} µs` : `${Math.round(ns)} ns`;
}

/** An amount of memory, rounded: `965 MiB`, `2.9 GiB`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  return bytes >= 1024 ** 2 ? `${Math.round(bytes / 1024 ** 2)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

/** A size in a scenario's column: the mix's is the mean of its pattern. */
export const sizeText = (scenario: Scenario, size: number): string => (scenario === 'mix' ? `mix (mean ${formatSize(size)})` : formatSize(size));
/** `×0.92`, `×12.4`, `×2605`. */
export const formatRatio = (x: number): string => `×${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)}`;
/** `[0.85–1.10]`. */
export const spreadText = (s: { min: number; max: number }): string => `[${formatRatio(s.min).slice(1)}–${formatRatio(s.max).slice(1)}]`;

/** A ratio with its spread, flagged `?` when the spread crosses 1: `×0.92 [0.85–1.10]?`. */
export function ratioText(r: Pick<Result, 'ratioToKernel' | 'ratioSpread' | 'ratioCrossesOne'>): string {
  if (r.ratioToKernel === undefined) return '';
  return `${formatRatio(r.ratioToKernel)}${r.ratioSpread ? ` ${spreadText(r.ratioSpread)}` : ''}${r.ratioCrossesOne ? '?' : ''}`;
}

/** What the spreads and `?` mean, for under a table (only what it shows). */
export function flagLegend(results: readonly Result[]): string[] {
  const spread = "×N [a–b]: the median and the least and greatest of the per-round ratios, each the kernel heap's median call ÷ this heap's median call in the same round; ns per call: the mean over every call of every round (the seed's figure)";
  return [...(results.some((r) => r.ratioSpread) ? [spread] : []), ...(results.some((r) => r.ratioCrossesOne) ? ['?: the spread crosses 1, so which of the two is faster is not settled by this run'] : [])];
}

/** A result's name in tables: its label, and the kernel when it ran in another boot. */
export const resultLabel = (r: Pick<Result, 'label' | 'kernel'>): string => (r.kernel ? `${r.label} [${r.kernel}]` : r.label);

/** A scenario's results as a grid: its sizes, and a row per heap with its result at each size. */
export function grid(results: readonly Result[], scenario: Scenario): { sizes: number[]; rows: Array<{ id: string; label: string; cells: Array<Result | undefined> }> } {
  const mine = results.filter((r) => r.scenario === scenario);
  const sizes = [...new Set(mine.map((r) => r.size))].sort((a, b) => a - b);
  const ids = [...new Map(mine.map((r) => [r.variant, resultLabel(r)]))];
  return { sizes, rows: ids.map(([id, label]) => ({ id, label, cells: sizes.map((s) => mine.find((r) => r.variant === id && r.size === s)) })) };
}

/** Columns padded to their widest cell, the first to the left, the others to the right; `rule`: dashes under the head. */
function columns(rows: string[][], rule = false): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const [head, ...lines] = rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd());
  return [head!, ...(rule ? [widths.map((w) => '-'.repeat(w)).join('  ')] : []), ...lines];
}

/** One scenario's table for the terminal: ns/call with the ratio to the kernel heap, its spread and flags. */
export function table(results: readonly Result[], scenario: Scenario = 'seed'): string {
  const { sizes, rows } = grid(results, scenario);
  const cell = (r: Result | undefined) => (r ? `${formatNs(r.nsPerCall)}${r.ratioToKernel === undefined || r.variant === 'kernel' ? '' : ` ${ratioText(r)}`}` : '-');
  return [
    `${scenario}: ${SCENARIO_TITLES[scenario]} (ns per call; ×N: kernel heap time / this heap time, higher is faster)`,
    ...columns([['heap', ...sizes.map((s) => (scenario === 'mix' ? 'mix' : formatSize(s)))], ...rows.map((r) => [r.label, ...r.cells.map(cell)])], true),
    ...flagLegend(results.filter((r) => r.scenario === scenario)).map((l) => `  ${l}`),
  ].join('\n');
}

/** `JavaScript 71%, system calls 22%, zeroing in the kernel 7%`. */
export function formatShares(shares: Shares): string {
  return (Object.keys(COST_NAMES) as Cost[])
    .filter((c) => (shares[c] ?? 0) >= 0.005)
    .sort((a, b) => shares[b]! - shares[a]!)
    .map((c) => `${COST_NAMES[c]} ${Math.round(shares[c]! * 100)}%`)
    .join(', ');
}

/** The calibration figures as rows: what, here, host, and here ÷ host in time (for a bandwidth, host ÷ here). */
export function calibrationRows({ here, host }: Pick<Calibration, 'here' | 'host'>): Array<{ what: string; here: string; host: string; factor: string }> {
  const gb = (v?: number) => (v === undefined ? '' : `${v >= 10 ? v.toFixed(1) : v.toPrecision(3)} GB/s`);
  const ns = (v?: number) => (v === undefined ? '' : v >= 1000 ? `${(v / 1000).toPrecision(3)} µs` : `${v.toPrecision(3)} ns`);
  const mib = `${Math.round(here.zeroBytes / 2 ** 20)} MiB`;
  const rows = [
    [`zeroing in userspace (Buffer.fill(0), ${mib})`, 'userZeroGBps', gb],
    [`kernel allocating + zeroing pages (fallocate of a ${mib} memfd)`, 'kernelZeroGBps', gb],
    ['system call through the addon (dupFd + closeFd)', 'syscallNs', ns],
    ['system call in C (dd: 1-byte read + write)', 'cSyscallNs', ns],
    ['JavaScript call (megamorphic, not inlined)', 'jsCallNs', ns],
    ['object allocation (3 fields)', 'allocNs', ns],
  ] as const;
  return rows.map(([what, key, unit]) => {
    const [a, b] = [here[key], host?.[key]];
    const x = a === undefined || b === undefined ? NaN : unit === gb ? b / a : a / b;
    return { what, here: unit(a), host: unit(b), factor: Number.isFinite(x) ? `×${x >= 10 ? x.toFixed(0) : x.toFixed(1)}` : '' };
  });
}

/** The calibration table's head and rows, as both outputs show it. */
export function calibrationTable(report: Pick<BenchReport, 'calibration' | 'machine'>): string[][] {
  const { here, host } = report.calibration;
  const m = report.machine;
  const where = m.inVm ? `the guest (Linux ${here.kernel}${m.emulated ? ', emulated' : ''})` : `this machine (Linux ${here.kernel})`;
  return [
    ['what', `here: ${where}`, host ? `host (Linux ${host.kernel})` : 'host', host ? 'here ÷ host (time)' : ''],
    ...calibrationRows(report.calibration).map((r) => [r.what, r.here, r.host || (host ? '–' : 'not measured'), r.factor]),
  ];
}

export const DOMINANCE_NOTE =
  "What the kernel heap's seed call is made of, measured from it and its C loop: the C loop at the smallest size is system calls and fixed kernel work, what it adds with size is the kernel allocating and zeroing pages, what the JavaScript heap adds over it is Node's.";

/** The calibration block for the terminal: the figures here and on the host, and what the kernel heap's call is made of. */
export function calibrationText(report: Pick<BenchReport, 'calibration' | 'machine'>): string {
  const cal = report.calibration;
  return [
    `calibration: what each kind of work costs here${cal.host ? ' and on the host, and how much slower it is here' : ''}`,
    ...columns(calibrationTable(report)),
    ...(cal.dominance.length ? ['', DOMINANCE_NOTE] : []),
    ...cal.dominance.map((d) => `  seed ${formatSize(d.size).padStart(7)}  dominated by ${COST_NAMES[d.dominant]}: ${formatShares(d.shares)}`),
  ].join('\n');
}

/** The pressure scenario's lines: what made the pressure, the stall it caused, and what the pools gave back. */
export function pressureText(p: PressureInfo): string[] {
  const ms = (us: number) => `${(us / 1000).toFixed(1)} ms`;
  const events = p.cgroupEvents && `cgroup memory.events: ${Object.entries(p.cgroupEvents).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`;
  const what = p.source === 'cgroup'
    ? `a child read ${p.file} over and over in a memory cgroup of ${formatBytes(p.cgroupLimitBytes ?? 0)} (${[p.passes !== undefined && `${p.passes} passes`, events].filter(Boolean).join('; ')})`
    : `another process held ${formatBytes(p.heldBytes ?? 0)} of ${formatBytes(p.availableBefore)} available`;
  const stall = p.stallUs !== undefined ? `; memory stall (PSI some, system-wide) grew ${ms(p.stallUs)}${p.cgroupStallUs !== undefined ? `, the cgroup's own ${ms(p.cgroupStallUs)}` : ''}` : '';
  const lost = p.hogLost ? (p.source === 'cgroup' ? '; the child was gone before the end' : '; the OOM killer took it') : '';
  const pool = (r: PoolRelief) =>
    `  ${r.label}: ${r.levels.map((l) => `${l.level} ${l.pressureEvents} pressure event${l.pressureEvents === 1 ? '' : 's'}, ${formatBytes(l.trimmedBytes)} trimmed`).join('; ')}` +
    (r.variant === 'system-cold' ? ' (its pool is also emptied before every call, by design)' : '');
  return [`pressure: ${what}${stall}${lost}`, ...(p.pools?.length === 0 ? ['  no pooling heap ran in it'] : (p.pools ?? []).map(pool))];
}

/**
 * `main` with the results of `other` (a run on another kernel, such as the CMA test kernel) for the heaps `main` has none of. Each keeps its own
 * run's ratio, to that run's kernel heap, and names its kernel; the heaps are no longer listed as skipped. `other`'s kernel heap rows are left out.
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
    mergedRuns: [...(main.mergedRuns ?? []), { date: other.date, machine: other.machine, variants, calibration: other.calibration }],
  };
}
