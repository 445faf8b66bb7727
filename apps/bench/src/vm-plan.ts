// What scripts/bench.mjs does when this kernel lacks dma-buf heaps: the runs it boots (Debian's stock kernel, then
// the CMA test kernel for the CMA heaps; with `--arch arm64` one boot of the arm64 test kernel, which has CMA
// too), with the arguments, writable directories and environment of each, and the merge after. Pure (no I/O), so
// that a host test can check the plumbing without a VM.
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';

export const CMA_HEAPS = ['cma', 'cma-heap', 'pool-cma'] as const;
export const DEFAULT_JSON = 'bench-results/bench.json';
export const DEFAULT_ARM64_JSON = 'bench-results/bench-arm64.json';
export const ARCHES = ['x64', 'arm64'] as const;

/** The value of `--name V` or `--name=V` in args. */
export function optionValue(args: readonly string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  return args[i]!.includes('=') ? args[i]!.slice(name.length + 3) : args[i + 1];
}

/** args with `--name` set to value (replacing it where given). */
export function withOption(args: readonly string[], name: string, value: string): string[] {
  return [...withoutOption(args, name), `--${name}`, value];
}

/** args without `--name V` / `--name=V`. */
export function withoutOption(args: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) i++;
    else if (!args[i]!.startsWith(`--${name}=`)) out.push(args[i]!);
  }
  return out;
}

/** The directories to share writable: `root`, and each other one not inside a directory already listed. */
export function writableDirs(root: string, dirs: readonly string[]): string[] {
  const inside = (d: string, parent: string) => {
    const rel = relative(parent, d);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  const out = [resolve(root)];
  for (const d of [...dirs].map((x) => resolve(root, x)).sort((a, b) => a.length - b.length)) {
    if (!out.some((o) => inside(d, o))) out.push(d);
  }
  return out;
}

export interface VmRunPlan {
  /** Which boot: the stock kernel's (every heap but the CMA ones), the CMA kernel's, or the arm64 kernel's (all). */
  boot: 'stock' | 'cma' | 'arm64';
  /** What runInVm gets (with the kernel filled in by the caller for the CMA and arm64 boots). */
  options: {
    command: string[];
    cwd: string;
    writable: string[];
    memory: string;
    cmdline?: string;
    env: Record<string, string>;
    timeoutMs: number;
  };
  /** Where this boot's JSON lands, absolute. */
  json: string;
}

export interface BenchPlan {
  /** The arguments with the JSON's default filled in (and `--arch` taken out: the guest's own is the one). */
  args: string[];
  /** The guest's architecture: `x64`, or `arm64` (the arm64 guest, one boot). */
  arch: (typeof ARCHES)[number];
  quick: boolean;
  memory: string;
  /** The host's calibration figures: written on the host first, read by every boot. Absolute. */
  hostCalibration: string;
  /** The argv of the host's calibration, run from `root`. */
  calibrate: string[];
  /** Directories to make on the host before booting (the guest cannot make mount points), absolute. */
  mkdirs: string[];
  runs: VmRunPlan[];
  /** The CMA boot's heaps (empty: no CMA boot). */
  cmaHeaps: string[];
  /** The `--render … --merge …` argv run on the host after both boots, when both wrote their JSON. */
  merge?: string[];
  /** The two JSON files the merge needs, absolute. */
  mergeInputs?: [string, string];
}

export interface PlanOptions {
  root: string;
  /** The CMA kernel's command line addition, e.g. `cma=256M`. */
  cmaCmdline: string;
  /** Ask the guest for `@@progress` lines (the host draws the bar). */
  progressLines: boolean;
  /** argv prefix of the benchmark, e.g. `['node', 'apps/bench/dist/cli.js']`. */
  cli?: string[];
}

export function planBench(argv: readonly string[], o: PlanOptions): BenchPlan {
  const cli = o.cli ?? ['node', 'apps/bench/dist/cli.js'];
  const root = resolve(o.root);
  const arch = (optionValue(argv, 'arch') ?? 'x64') as BenchPlan['arch'];
  if (!ARCHES.includes(arch)) throw new Error(`--arch ${arch}: the test bed boots ${ARCHES.join(' or ')} guests`);
  let args = withoutOption(argv, 'arch');
  if (!optionValue(args, 'json')) args.push('--json', arch === 'arm64' ? DEFAULT_ARM64_JSON : DEFAULT_JSON);
  const quick = args.includes('--quick');
  // The pressure scenario no longer fills the guest's memory (it uses a memory cgroup), so the size matters less:
  // 2 GiB holds every heap's pools at 32 MiB with room to spare; --quick keeps its small guest.
  const memory = quick ? '1G' : '2G';
  const json = optionValue(args, 'json')!;
  const html = optionValue(args, 'html');
  const asked = optionValue(args, 'heaps')?.split(',');
  const cmaHeaps = (asked ?? [...CMA_HEAPS]).filter((h) => (CMA_HEAPS as readonly string[]).includes(h));
  const stockHeaps = asked?.filter((h) => !(CMA_HEAPS as readonly string[]).includes(h));
  const cmaJson = stockHeaps?.length === 0 ? json : json.replace(/(\.json)?$/, '-cma.json');
  const abs = (p: string) => resolve(root, p);
  const hostCalibration = join(dirname(abs(json)), 'host-calibration.json');
  args = withOption(args, 'host-calibration', hostCalibration);
  const reportDirs = [dirname(abs(json)), ...(html ? [dirname(abs(html))] : []), dirname(abs(cmaJson))];
  const mkdirs = [...new Set(reportDirs)];
  const writable = writableDirs(root, mkdirs);
  const base = {
    cwd: root,
    writable,
    memory,
    env: (o.progressLines ? { DMAHEAP_PROGRESS: 'lines' } : {}) as Record<string, string>,
    timeoutMs: 60 * 60_000,
  };
  const runs: VmRunPlan[] = [];
  if (arch === 'arm64') {
    // The arm64 test kernel has the system heap, CMA (with the caller's cma=), udmabuf: every heap in one boot.
    runs.push({ boot: 'arm64', options: { ...base, command: [...cli, ...args], cmdline: o.cmaCmdline }, json: abs(json) });
    return { args, arch, quick, memory, hostCalibration, calibrate: [...cli, '--calibrate', hostCalibration], mkdirs, runs, cmaHeaps: [] };
  }
  if (stockHeaps?.length !== 0) runs.push({ boot: 'stock', options: { ...base, command: [...cli, ...args] }, json: abs(json) });
  let merge: string[] | undefined;
  let mergeInputs: [string, string] | undefined;
  if (cmaHeaps.length) {
    // The kernel heap runs again in this boot: the CMA heaps' ratios are to it, measured side by side.
    let cmaArgs = withOption(withOption(args, 'heaps', ['kernel', ...cmaHeaps].join(',')), 'json', cmaJson);
    if (cmaJson !== json) cmaArgs = withOption(cmaArgs, 'html', cmaJson.replace(/\.json$/, '.html'));
    runs.push({ boot: 'cma', options: { ...base, command: [...cli, ...cmaArgs], cmdline: o.cmaCmdline }, json: abs(cmaJson) });
    if (cmaJson !== json) {
      merge = ['--render', abs(json), '--merge', abs(cmaJson), ...(html ? ['--html', abs(html)] : [])];
      mergeInputs = [abs(json), abs(cmaJson)];
    }
  }
  return {
    args,
    arch,
    quick,
    memory,
    hostCalibration,
    calibrate: [...cli, '--calibrate', hostCalibration],
    mkdirs,
    runs,
    cmaHeaps,
    ...(merge ? { merge, mergeInputs } : {}),
  };
}
