// The calibration block's measurements: what zeroing memory, a system call, a JavaScript call and an object
// allocation cost on the machine the benchmark runs on. scripts/bench.mjs measures the same on the host
// (`--calibrate FILE`) and hands the file to the guest run (`--host-calibration FILE`): the ratio of the two
// says how much emulation inflates each kind of work, and so which of the benchmark's ratios it distorts.
import { spawnSync } from 'node:child_process';
import { cpus, release } from 'node:os';
import { closeFd, dupFd, fallocate, memfdCreate } from '@dmaheap/native';
import { median } from './rounds.js';

export interface CalibrationFigures {
  kernel: string;
  cpuModel: string;
  /** Userspace zeroing, GB/s: `Buffer.fill(0)` over a buffer of `zeroBytes` whose pages are already there. */
  userZeroGBps: number;
  /** The kernel allocating and zeroing pages, GB/s: `fallocate` of a fresh memfd of `zeroBytes`. */
  kernelZeroGBps: number;
  /** A system call round trip through the addon, ns: one `dupFd` + `closeFd` pair (two system calls). */
  syscallNs: number;
  /** The same in C, ns: one 1-byte `read` of /dev/zero + `write` to /dev/null in `dd` (two system calls). */
  cSyscallNs?: number;
  /** A JavaScript call the compiler cannot inline (a megamorphic call site), ns, the empty loop subtracted. */
  jsCallNs: number;
  /** An object allocation (three fields, kept alive briefly in a ring), ns, its share of scavenges included. */
  allocNs: number;
  /** Bytes zeroed per repetition. */
  zeroBytes: number;
}

export interface CalibrationOptions {
  /** Repetitions of each measurement (the median is kept). */
  repeats: number;
  zeroBytes: number;
  syscalls: number;
  jsCalls: number;
  /** Read + write pairs in the C measurement (the difference of two dd runs, so process start-up cancels). */
  cSyscalls: number;
}

export const CALIBRATION_DEFAULTS: CalibrationOptions = { repeats: 5, zeroBytes: 32 * 2 ** 20, syscalls: 5000, jsCalls: 200_000, cSyscalls: 50_000 };

const now = () => process.hrtime.bigint();
function timeNs(fn: () => void): number {
  const t0 = now();
  fn();
  return Number(now() - t0);
}

/** Measures the figures on this machine (a few seconds under emulation). */
export function calibrate(o: CalibrationOptions = CALIBRATION_DEFAULTS): CalibrationFigures {
  const reps = (fn: () => number) => median(Array.from({ length: o.repeats }, fn));

  const buf = Buffer.allocUnsafeSlow(o.zeroBytes);
  buf.fill(1); // its pages are there: what follows is the zeroing alone
  const userNs = reps(() => timeNs(() => buf.fill(0)));

  const kernelNs = reps(() => {
    const fd = memfdCreate('dmaheap-bench-calibrate');
    try {
      return timeNs(() => fallocate(fd, 0, o.zeroBytes));
    } finally {
      closeFd(fd);
    }
  });

  const fd = memfdCreate('dmaheap-bench-calibrate');
  let syscallNs: number;
  try {
    for (let i = 0; i < 50; i++) closeFd(dupFd(fd));
    syscallNs = reps(() => timeNs(() => {
      for (let i = 0; i < o.syscalls; i++) closeFd(dupFd(fd));
    }) / o.syscalls);
  } finally {
    closeFd(fd);
  }

  // Eight different functions called from one site: the call site is megamorphic, so each is a real call.
  const fns = Array.from({ length: 8 }, (_, j) => new Function('x', `return (x + ${j}) | 0;`) as (x: number) => number);
  let sink = 0;
  const calls = () => timeNs(() => {
    for (let i = 0; i < o.jsCalls; i++) sink = (sink + fns[i & 7]!(i)) | 0;
  });
  const empty = () => timeNs(() => {
    for (let i = 0; i < o.jsCalls; i++) sink = (sink + ((i + (i & 7)) | 0)) | 0;
  });
  calls();
  empty();
  const jsCallNs = Math.max(0, reps(() => (calls() - empty()) / o.jsCalls));

  const ring: unknown[] = new Array(1024).fill(null);
  const allocs = () => timeNs(() => {
    for (let i = 0; i < o.jsCalls; i++) ring[i & 1023] = { a: i, b: sink, c: ring };
  });
  allocs();
  const allocNs = reps(() => allocs() / o.jsCalls);
  if (sink === 0.5) console.log(sink); // keeps the loops' results alive

  const cRuns = Array.from({ length: o.repeats }, () => ddSyscallNs(o.cSyscalls)).filter((x): x is number => x !== undefined);
  const cSyscallNs = cRuns.length ? median(cRuns) : undefined;
  return {
    kernel: release(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    userZeroGBps: o.zeroBytes / userNs,
    kernelZeroGBps: o.zeroBytes / kernelNs,
    syscallNs,
    ...(cSyscallNs !== undefined ? { cSyscallNs } : {}),
    jsCallNs,
    allocNs,
    zeroBytes: o.zeroBytes,
  };
}

/** Seconds dd reports for copying `count` blocks of `bs` from /dev/zero to /dev/null, or undefined without dd. */
function ddSeconds(count: number, bs: number): number | undefined {
  const r = spawnSync('dd', ['if=/dev/zero', 'of=/dev/null', `bs=${bs}`, `count=${count}`], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  return r.status === 0 ? parseDdSeconds(r.stderr) : undefined;
}

/** The time in dd's closing line, `… bytes (…) copied, 0.0123 s, 1.2 MB/s`. */
export function parseDdSeconds(stderr: string): number | undefined {
  const m = /copied, ([\d.]+(?:e-?\d+)?) s\b/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}

/** ns per read + write pair in dd: the difference of a long and a short run, so that its start-up cancels. */
function ddSyscallNs(pairs: number): number | undefined {
  const short = ddSeconds(1000, 1);
  const long = ddSeconds(1000 + pairs, 1);
  if (short === undefined || long === undefined || long <= short) return undefined;
  return ((long - short) * 1e9) / pairs;
}
