// What emulation does to the benchmark's ratios. The calibration block measures four kinds of work here and on
// the host; their ratios are how much the emulator inflates each. Each heap's call is made of some of them (a
// pool hit is JavaScript only; the kernel heap at 32 MiB is mostly the kernel zeroing pages), so a ratio between
// two heaps carries over to hardware only when what dominates each is inflated alike. Pure functions: no I/O.
import type { CalibrationFigures } from './calibrate.js';
import type { Result, Scenario } from './measure.js';

export type Cost = 'kernel-zero' | 'user-zero' | 'syscalls' | 'js';

export const COSTS: readonly Cost[] = ['kernel-zero', 'user-zero', 'syscalls', 'js'];

export const COST_NAMES: Record<Cost, string> = {
  'kernel-zero': 'zeroing in the kernel',
  'user-zero': 'zeroing in userspace',
  syscalls: 'system calls',
  js: 'JavaScript',
};

export interface Calibration {
  /** Measured where the benchmark ran (in the VM: the guest). */
  here: CalibrationFigures;
  /** Measured on the host by scripts/bench.mjs, when the benchmark ran in the VM. */
  host?: CalibrationFigures;
  /** Guest time / host time for each kind of work (with `host` only). */
  inflation?: Record<Cost, number>;
  /** For each scenario and size: what the kernel heap's call is made of, shares of its time. */
  dominance: Dominance[];
}

export interface Dominance {
  scenario: Scenario;
  size: number;
  /** Share of the kernel heap's time per call, 0..1. */
  shares: Partial<Record<Cost, number>>;
  /** The largest share. */
  dominant: Cost;
  /** true: from the kernel heap's and the C loop's times in this run; false: estimated from the calibration. */
  measured: boolean;
}

/** Whether a ratio to the kernel heap carries over to hardware, from what each side's time is made of. */
export interface HardwareVerdict {
  /** The costs that make up at least a quarter of this heap's time, and of the kernel heap's. */
  heap: Cost[];
  kernel: Cost[];
  /** On hardware the ratio would be about this one times a factor between `low` and `high`. */
  low: number;
  high: number;
  /** The factor stays within 1/2..2: emulation inflates both sides' main costs alike. */
  holds: boolean;
}

/** How much slower each kind of work is here than on the host (> 1: the emulator inflates it). */
export function inflation(here: CalibrationFigures, host: CalibrationFigures): Record<Cost, number> {
  return {
    'kernel-zero': host.kernelZeroGBps / here.kernelZeroGBps,
    'user-zero': host.userZeroGBps / here.userZeroGBps,
    // The kernel's own cost of a system call (C), else the addon's round trip.
    syscalls: here.cSyscallNs !== undefined && host.cSyscallNs !== undefined ? here.cSyscallNs / host.cSyscallNs : here.syscallNs / host.syscallNs,
    js: here.jsCallNs / host.jsCallNs,
  };
}

/** What one call of a heap in a scenario does: where it zeroes memory, and whether it makes system calls and runs JavaScript. */
export interface Profile {
  zero: Array<'kernel' | 'user'>;
  syscalls: boolean;
  js: boolean;
}

const KERNEL_SIDE = ['kernel', 'cma', 'cma-heap'];
const SHMEM_FRESH = ['sgtable', 'orders', 'system-cold', 'udmabuf-fresh'];
const WARM_SYSTEM = ['pagepool', 'skipsync'];
const POOLS = ['pool-kernel', 'pool-system', 'pool-cma'];

/**
 * The work of one call, from how each heap is built: the kernel heaps zero every allocation in the kernel; the
 * systemHeap variants without a warm pool fallocate fresh memfd pages (zeroed by the kernel); a warm page pool or
 * a bufferPool hit zeroes nothing unless the buffer was mapped (then it zeroes in userspace, through a mapping,
 * when the buffer comes back); a pool hit makes no system call.
 */
export function profileOf(variant: string, scenario: Scenario): Profile | undefined {
  const p = (zero: Profile['zero'], syscalls: boolean, js = true): Profile => ({ zero, syscalls, js });
  const known = [...KERNEL_SIDE, 'kernel-c', ...SHMEM_FRESH, ...WARM_SYSTEM, ...POOLS];
  if (!known.includes(variant)) return undefined;
  if (variant === 'kernel-c') return p(['kernel'], true, false);
  switch (scenario) {
    case 'seed':
    case 'pressure':
    case 'workers':
    case 'mix':
      if (KERNEL_SIDE.includes(variant) || SHMEM_FRESH.includes(variant)) return p(['kernel'], true);
      if (WARM_SYSTEM.includes(variant)) return p([], true);
      return p([], false); // a pool hit
    case 'touch':
    case 'share':
      // Mapped (touch) or written and sent (share): recycling heaps zero in userspace as the buffer comes back.
      if (KERNEL_SIDE.includes(variant) || variant === 'sgtable' || variant === 'orders' || variant === 'udmabuf-fresh') return p(['kernel'], true);
      return p(['user'], true);
    case 'sync-private':
      // Nobody else can see the buffer: heaps that skip syncs until then make no system call.
      return ['skipsync', 'system-cold', 'cma-heap', 'pool-system', 'pool-cma'].includes(variant) ? p([], false) : p([], true);
    case 'sync-shared':
      return p([], true);
  }
}

/** Keeps the costs that make up at least `min` of the total (at least the largest), largest first. */
export function mainCosts(shares: Partial<Record<Cost, number>>, min = 0.25): Cost[] {
  const entries = COSTS.filter((c) => (shares[c] ?? 0) > 0).sort((a, b) => shares[b]! - shares[a]!);
  const kept = entries.filter((c) => shares[c]! >= min);
  return kept.length ? kept : entries.slice(0, 1);
}

function normalise(parts: Partial<Record<Cost, number>>): Partial<Record<Cost, number>> {
  const total = COSTS.reduce((n, c) => n + (parts[c] ?? 0), 0);
  const out: Partial<Record<Cost, number>> = {};
  if (total > 0) for (const c of COSTS) if ((parts[c] ?? 0) > 0) out[c] = parts[c]! / total;
  return out;
}

/**
 * Estimated shares of a call's time: zeroing is the bytes over the bandwidth measured here (at most the whole
 * call); the rest is split evenly between system calls and JavaScript, as far as the call makes them.
 */
export function estimateShares(profile: Profile, size: number, nsPerCall: number, here: CalibrationFigures): Partial<Record<Cost, number>> {
  const parts: Partial<Record<Cost, number>> = {};
  let zero = 0;
  for (const where of profile.zero) {
    const ns = size / (where === 'kernel' ? here.kernelZeroGBps : here.userZeroGBps);
    parts[where === 'kernel' ? 'kernel-zero' : 'user-zero'] = ns;
    zero += ns;
  }
  if (zero > nsPerCall) for (const c of ['kernel-zero', 'user-zero'] as const) if (parts[c]) parts[c] = (parts[c]! * nsPerCall) / zero;
  const rest = Math.max(0, nsPerCall - zero);
  const calls = [...(profile.syscalls ? ['syscalls' as const] : []), ...(profile.js ? ['js' as const] : [])];
  for (const c of calls) parts[c] = rest / calls.length;
  return normalise(parts);
}

/**
 * The kernel heap's call at `size`, measured: the C loop at the smallest size is its system calls and fixed
 * kernel work, what the C loop adds from there up to `size` is the kernel allocating and zeroing pages, and what
 * the JavaScript heap adds over the C loop is Node's (JavaScript and the addon).
 */
export function measuredKernelShares(results: readonly Result[], size: number): Partial<Record<Cost, number>> | undefined {
  const seed = results.filter((r) => r.scenario === 'seed' && r.kernel === undefined);
  const c = seed.filter((r) => r.variant === 'kernel-c');
  const k = seed.find((r) => r.variant === 'kernel' && r.size === size);
  const cAt = c.find((r) => r.size === size);
  if (!k || !cAt || c.length === 0) return undefined;
  const cMin = c.reduce((a, b) => (b.size < a.size ? b : a));
  if (cMin.size > size) return undefined;
  const fixed = Math.min(cMin.nsPerCall, cAt.nsPerCall);
  return normalise({ syscalls: fixed, 'kernel-zero': Math.max(0, cAt.nsPerCall - fixed), js: Math.max(0, k.nsPerCall - cAt.nsPerCall) });
}

/** Shares of a result's time: measured for the kernel heap in the seed-like scenarios, estimated otherwise. */
export function sharesOf(r: Result, results: readonly Result[], here: CalibrationFigures): { shares: Partial<Record<Cost, number>>; measured: boolean } | undefined {
  if ((r.variant === 'kernel' || r.variant === 'kernel-c') && ['seed', 'pressure', 'workers'].includes(r.scenario)) {
    const m = measuredKernelShares(results, r.size);
    if (m && r.variant === 'kernel') return { shares: m, measured: true };
    // The C loop is the kernel heap's call without Node's part.
    if (m) return { shares: normalise({ syscalls: m.syscalls ?? 0, 'kernel-zero': m['kernel-zero'] ?? 0 }), measured: true };
  }
  const profile = profileOf(r.variant, r.scenario);
  return profile ? { shares: estimateShares(profile, r.size, r.nsPerCall, here), measured: false } : undefined;
}

/** For every scenario and size the kernel heap ran: what its call is made of. */
export function dominance(results: readonly Result[], here: CalibrationFigures): Dominance[] {
  const out: Dominance[] = [];
  for (const r of results) {
    if (r.variant !== 'kernel' || r.kernel !== undefined) continue;
    const s = sharesOf(r, results, here);
    if (s) out.push({ scenario: r.scenario, size: r.size, shares: s.shares, dominant: mainCosts(s.shares)[0]!, measured: s.measured });
  }
  return out;
}

/** The verdict for one heap's ratio to the kernel heap, from the main costs of each side and the inflation. */
export function verdict(heap: readonly Cost[], kernel: readonly Cost[], f: Record<Cost, number>): HardwareVerdict {
  const hf = heap.map((c) => f[c]);
  const kf = kernel.map((c) => f[c]);
  const low = Math.min(...hf) / Math.max(...kf);
  const high = Math.max(...hf) / Math.min(...kf);
  return { heap: [...heap], kernel: [...kernel], low, high, holds: low >= 0.5 && high <= 2 };
}

/** Sets `hardware` on each result with a ratio, in this run (merged rows keep their own run's). */
export function addVerdicts(results: Result[], cal: Calibration): void {
  if (!cal.inflation) return;
  for (const r of results) {
    if (r.kernel !== undefined) continue;
    delete r.hardware;
    if (r.variant === 'kernel' || r.ratioToKernel === undefined) continue;
    const k = results.find((x) => x.variant === 'kernel' && x.kernel === undefined && x.scenario === r.scenario && x.size === r.size);
    const mine = sharesOf(r, results, cal.here);
    const theirs = k && sharesOf(k, results, cal.here);
    if (!mine || !theirs) continue;
    r.hardware = verdict(mainCosts(mine.shares), mainCosts(theirs.shares), cal.inflation);
  }
}

/** The calibration block as rows: what, here, host, and the inflation (here / host in time). */
export function calibrationRows(cal: Pick<Calibration, 'here' | 'host'>): Array<{ what: string; here: string; host: string; factor: string }> {
  const { here, host } = cal;
  const gb = (v: number | undefined) => (v === undefined ? '' : v >= 10 ? `${v.toFixed(1)} GB/s` : `${v.toPrecision(3)} GB/s`);
  const ns = (v: number | undefined) => (v === undefined ? '' : v >= 1000 ? `${(v / 1000).toPrecision(3)} µs` : `${v.toPrecision(3)} ns`);
  const fx = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '' : `×${x >= 10 ? x.toFixed(0) : x.toFixed(1)}`);
  const mib = `${Math.round(here.zeroBytes / 2 ** 20)} MiB`;
  return [
    { what: `zeroing in userspace (Buffer.fill(0), ${mib})`, here: gb(here.userZeroGBps), host: gb(host?.userZeroGBps), factor: fx(host && host.userZeroGBps / here.userZeroGBps) },
    { what: `kernel allocating + zeroing pages (fallocate of a ${mib} memfd)`, here: gb(here.kernelZeroGBps), host: gb(host?.kernelZeroGBps), factor: fx(host && host.kernelZeroGBps / here.kernelZeroGBps) },
    { what: 'system call through the addon (dupFd + closeFd)', here: ns(here.syscallNs), host: ns(host?.syscallNs), factor: fx(host && here.syscallNs / host.syscallNs) },
    {
      what: 'system call in C (dd: 1-byte read + write)',
      here: ns(here.cSyscallNs),
      host: ns(host?.cSyscallNs),
      factor: fx(host?.cSyscallNs !== undefined && here.cSyscallNs !== undefined ? here.cSyscallNs / host.cSyscallNs : undefined),
    },
    { what: 'JavaScript call (megamorphic, not inlined)', here: ns(here.jsCallNs), host: ns(host?.jsCallNs), factor: fx(host && here.jsCallNs / host.jsCallNs) },
    { what: 'object allocation (3 fields)', here: ns(here.allocNs), host: ns(host?.allocNs), factor: fx(host && here.allocNs / host.allocNs) },
  ];
}

/** `JavaScript 71%, system calls 22%, zeroing in the kernel 7%`. */
export function formatShares(shares: Partial<Record<Cost, number>>): string {
  return COSTS.filter((c) => (shares[c] ?? 0) >= 0.005)
    .sort((a, b) => shares[b]! - shares[a]!)
    .map((c) => `${COST_NAMES[c]} ${Math.round(shares[c]! * 100)}%`)
    .join(', ');
}

/** One line per verdict kind for the text: what a `~` next to a ratio means in this run. */
export function verdictNote(v: HardwareVerdict, f: Record<Cost, number>): string {
  const side = (cs: readonly Cost[]) => cs.map((c) => `${COST_NAMES[c]} ×${f[c] >= 10 ? f[c].toFixed(0) : f[c].toFixed(1)}`).join(' + ');
  const range = (x: number) => (x >= 10 ? x.toFixed(0) : x.toFixed(2));
  return v.holds
    ? `holds on hardware: this heap's main cost (${side(v.heap)}) and the kernel heap's (${side(v.kernel)}) are inflated alike here`
    : `not a hardware figure: this heap's main cost (${side(v.heap)}) and the kernel heap's (${side(v.kernel)}) are inflated differently here; ` +
        `on hardware expect this ratio times ${range(v.low)}–${range(v.high)}`;
}
