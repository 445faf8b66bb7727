// What scripts/bench.mjs does when this kernel lacks dma-buf heaps: the boots (Debian's stock kernel, then the CMA
// test kernel for the CMA heaps; with `--arch arm64` one boot of the arm64 test kernel, which has CMA too), each
// with its arguments, writable directories and environment, and the merge after. Pure, so that a host test can
// check the plumbing without a VM.
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';

const CMA_HEAPS = ['cma', 'cma-heap', 'pool-cma'];
const ARCHES = ['x64', 'arm64'] as const;

/** The value of `--name V` or `--name=V` in args. */
export function optionValue(args: readonly string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  return i < 0 ? undefined : args[i]!.includes('=') ? args[i]!.slice(name.length + 3) : args[i + 1];
}

/** args without `--name V` / `--name=V`. */
export const withoutOption = (args: readonly string[], name: string): string[] =>
  args.filter((a, i) => a !== `--${name}` && args[i - 1] !== `--${name}` && !a.startsWith(`--${name}=`));

/** args with `--name` set to value (replacing it where given). */
export const withOption = (args: readonly string[], name: string, value: string): string[] => [...withoutOption(args, name), `--${name}`, value];

/** The directories to share writable: `root`, and each other one not inside a directory already listed. */
export function writableDirs(root: string, dirs: readonly string[]): string[] {
  const inside = (d: string, parent: string) => !relative(parent, d).startsWith('..') && !isAbsolute(relative(parent, d));
  const out = [resolve(root)];
  for (const d of dirs.map((x) => resolve(root, x)).sort((a, b) => a.length - b.length)) if (!out.some((o) => inside(d, o))) out.push(d);
  return out;
}

export interface VmRunPlan {
  /** The stock kernel's boot (every heap but the CMA ones), the CMA kernel's, or the arm64 kernel's (all). */
  boot: 'stock' | 'cma' | 'arm64';
  /** What runInVm gets (the caller fills in the kernel of the CMA and arm64 boots). */
  options: { command: string[]; cwd: string; writable: string[]; memory: string; cmdline?: string; env: Record<string, string>; timeoutMs: number };
  /** Where this boot's JSON lands, absolute. */
  json: string;
}

export interface BenchPlan {
  arch: (typeof ARCHES)[number];
  quick: boolean;
  memory: string;
  /** The host's calibration figures, written on the host first and read by every boot; and the argv that writes them. */
  hostCalibration: string;
  calibrate: string[];
  /** Directories to make on the host before booting (the guest cannot make mount points). */
  mkdirs: string[];
  runs: VmRunPlan[];
  /** The CMA boot's heaps (none: no CMA boot). */
  cmaHeaps: string[];
  /** The `--render … --merge …` argv run on the host after both boots, and the two JSON files it needs. */
  merge?: string[];
  mergeInputs?: [string, string];
}

/**
 * `cmaCmdline`: the CMA kernel's command line addition (`cma=256M`); `progressLines`: the guest prints `@@progress`
 * lines (the host draws the bar); `cli`: the benchmark's argv prefix.
 */
export function planBench(argv: readonly string[], o: { root: string; cmaCmdline: string; progressLines: boolean; cli?: string[] }): BenchPlan {
  const cli = o.cli ?? ['node', 'apps/bench/dist/cli.js'];
  const root = resolve(o.root);
  const abs = (p: string) => resolve(root, p);
  const arch = (optionValue(argv, 'arch') ?? 'x64') as BenchPlan['arch'];
  if (!ARCHES.includes(arch)) throw new Error(`--arch ${arch}: the test bed boots ${ARCHES.join(' or ')} guests`);
  let args = withoutOption(argv, 'arch');
  const json = optionValue(args, 'json') ?? (arch === 'arm64' ? 'bench-results/bench-arm64.json' : 'bench-results/bench.json');
  if (!optionValue(args, 'json')) args.push('--json', json);
  const html = optionValue(args, 'html');
  const quick = args.includes('--quick');
  // 2 GiB holds every heap's pools at 32 MiB with room to spare (pressure uses a memory cgroup); --quick keeps a small guest.
  const memory = quick ? '1G' : '2G';
  const asked = optionValue(args, 'heaps')?.split(',');
  const cmaHeaps = arch === 'arm64' ? [] : (asked ?? CMA_HEAPS).filter((h) => CMA_HEAPS.includes(h));
  const stockHeaps = asked?.filter((h) => !CMA_HEAPS.includes(h));
  const cmaJson = stockHeaps?.length === 0 ? json : json.replace(/(\.json)?$/, '-cma.json');
  const hostCalibration = join(dirname(abs(json)), 'host-calibration.json');
  args = withOption(args, 'host-calibration', hostCalibration);
  const mkdirs = [...new Set([dirname(abs(json)), ...(html ? [dirname(abs(html))] : []), dirname(abs(cmaJson))])];
  const base = { cwd: root, writable: writableDirs(root, mkdirs), memory, env: (o.progressLines ? { DMAHEAP_PROGRESS: 'lines' } : {}) as Record<string, string>, timeoutMs: 60 * 60_000 };
  const plan: BenchPlan = { arch, quick, memory, hostCalibration, calibrate: [...cli, '--calibrate', hostCalibration], mkdirs, runs: [], cmaHeaps };
  // The arm64 test kernel has the system heap, CMA (with the caller's cma=) and udmabuf: every heap in one boot.
  if (arch === 'arm64') plan.runs.push({ boot: 'arm64', options: { ...base, command: [...cli, ...args], cmdline: o.cmaCmdline }, json: abs(json) });
  else if (stockHeaps?.length !== 0) plan.runs.push({ boot: 'stock', options: { ...base, command: [...cli, ...args] }, json: abs(json) });
  if (cmaHeaps.length) {
    // The kernel heap runs again in this boot: the CMA heaps' ratios are to it, measured side by side.
    let cmaArgs = withOption(withOption(args, 'heaps', ['kernel', ...cmaHeaps].join(',')), 'json', cmaJson);
    if (cmaJson !== json) cmaArgs = withOption(cmaArgs, 'html', cmaJson.replace(/\.json$/, '.html'));
    plan.runs.push({ boot: 'cma', options: { ...base, command: [...cli, ...cmaArgs], cmdline: o.cmaCmdline }, json: abs(cmaJson) });
    if (cmaJson !== json) {
      plan.merge = ['--render', abs(json), '--merge', abs(cmaJson), ...(html ? ['--html', abs(html)] : [])];
      plan.mergeInputs = [abs(json), abs(cmaJson)];
    }
  }
  return plan;
}
