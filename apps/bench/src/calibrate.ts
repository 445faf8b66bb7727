// The calibration block: what zeroing memory, a system call, a JavaScript call and an object allocation cost on the
// machine the benchmark runs on. scripts/bench.mjs measures the same on the host (`--calibrate FILE`) and hands the file
// to the guest run (`--host-calibration FILE`): here ÷ host is how much emulation inflates each kind of work (the
// report's tables show it per figure). And what the kernel heap's seed call is made of, measured from it and its C loop.
import { spawnSync } from 'node:child_process';
import { cpus, release } from 'node:os';
import { closeFd, dupFd, fallocate, memfdCreate } from '@dmaheap/native';
import { median } from './rounds.js';
import type { CalibrationFigures, Cost, Dominance, Result, Shares } from './types.js';

/** Repetitions of each measurement (the median is kept), bytes zeroed, calls timed; `cSyscalls`: read + write pairs in dd (two runs' difference, so that start-up cancels). */
export const CALIBRATION_DEFAULTS = { repeats: 5, zeroBytes: 32 * 2 ** 20, syscalls: 5000, jsCalls: 200_000, cSyscalls: 50_000 };

function timeNs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0);
}

/** Measures the figures on this machine (a few seconds under emulation). */
export function calibrate(o = CALIBRATION_DEFAULTS): CalibrationFigures {
  const reps = (fn: () => number) => median(Array.from({ length: o.repeats }, fn));
  const withMemfd = <T>(fn: (fd: number) => T): T => {
    const fd = memfdCreate('dmaheap-bench-calibrate');
    try {
      return fn(fd);
    } finally {
      closeFd(fd);
    }
  };

  const buf = Buffer.allocUnsafeSlow(o.zeroBytes).fill(1); // its pages are there: what follows is the zeroing alone
  const userNs = reps(() => timeNs(() => buf.fill(0)));
  const kernelNs = reps(() => withMemfd((fd) => timeNs(() => fallocate(fd, 0, o.zeroBytes))));
  const syscallNs = withMemfd((fd) => {
    for (let i = 0; i < 50; i++) closeFd(dupFd(fd));
    return reps(() => timeNs(() => { for (let i = 0; i < o.syscalls; i++) closeFd(dupFd(fd)); }) / o.syscalls);
  });

  // Eight different functions called from one site: the call site is megamorphic, so each is a real call.
  const fns = Array.from({ length: 8 }, (_, j) => new Function('x', `return (x + ${j}) | 0;`) as (x: number) => number);
  let sink = 0;
  const calls = () => timeNs(() => { for (let i = 0; i < o.jsCalls; i++) sink = (sink + fns[i & 7]!(i)) | 0; });
  const empty = () => timeNs(() => { for (let i = 0; i < o.jsCalls; i++) sink = (sink + ((i + (i & 7)) | 0)) | 0; });
  calls();
  empty();
  const jsCallNs = Math.max(0, reps(() => (calls() - empty()) / o.jsCalls));

  const ring: unknown[] = new Array(1024).fill(null);
  const allocs = () => timeNs(() => { for (let i = 0; i < o.jsCalls; i++) ring[i & 1023] = { a: i, b: sink, c: ring }; });
  allocs();
  const allocNs = reps(() => allocs() / o.jsCalls);
  if (sink === 0.5) console.log(sink); // keeps the loops' results alive

  const cRuns = Array.from({ length: o.repeats }, () => ddSyscallNs(o.cSyscalls)).filter((x) => x !== undefined);
  return {
    kernel: release(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    userZeroGBps: o.zeroBytes / userNs,
    kernelZeroGBps: o.zeroBytes / kernelNs,
    syscallNs,
    ...(cRuns.length ? { cSyscallNs: median(cRuns) } : {}),
    jsCallNs,
    allocNs,
    zeroBytes: o.zeroBytes,
  };
}

/** The time in dd's closing line, `… bytes (…) copied, 0.0123 s, 1.2 MB/s`. */
export function parseDdSeconds(stderr: string): number | undefined {
  const m = /copied, ([\d.]+(?:e-?\d+)?) s\b/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}

/** ns per 1-byte read + write pair in dd: the difference of a long and a short run, so that its start-up cancels. */
function ddSyscallNs(pairs: number): number | undefined {
  const dd = (count: number) => {
    const r = spawnSync('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${count}`], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    return r.status === 0 ? parseDdSeconds(r.stderr) : undefined;
  };
  const [short, long] = [dd(1000), dd(1000 + pairs)];
  return short === undefined || long === undefined || long <= short ? undefined : ((long - short) * 1e9) / pairs;
}

/**
 * What the kernel heap's seed call is made of at each size, measured: the C loop at the smallest size is its system
 * calls and fixed kernel work, what the C loop adds from there is the kernel allocating and zeroing pages, and what
 * the JavaScript heap adds over the C loop is Node's (JavaScript and the addon).
 */
export function dominance(results: readonly Result[]): Dominance[] {
  const seed = results.filter((r) => r.scenario === 'seed' && r.kernel === undefined);
  const c = seed.filter((r) => r.variant === 'kernel-c');
  const cMin = c.reduce<Result | undefined>((a, b) => (a && a.size <= b.size ? a : b), undefined);
  return seed.flatMap((k) => {
    const cAt = c.find((r) => r.size === k.size);
    if (k.variant !== 'kernel' || !cAt || !cMin) return [];
    const fixed = Math.min(cMin.nsPerCall, cAt.nsPerCall);
    const parts = Object.entries({ 'kernel-zero': Math.max(0, cAt.nsPerCall - fixed), syscalls: fixed, js: Math.max(0, k.nsPerCall - cAt.nsPerCall) }).filter(([, ns]) => ns > 0);
    const total = parts.reduce((n, [, ns]) => n + ns, 0);
    const shares: Shares = Object.fromEntries(parts.map(([cost, ns]) => [cost, ns / total]));
    const dominant = parts.reduce((a, b) => (b[1] > a[1] ? b : a))[0] as Cost;
    return [{ scenario: 'seed' as const, size: k.size, shares, dominant }];
  });
}
