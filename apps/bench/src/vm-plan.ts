// What scripts/bench.mjs does when this kernel lacks dma-buf heaps: the boots (Debian's stock kernel, then the CMA
// test kernel for the CMA heaps; with `--arch arm64` one boot of the arm64 test kernel, which has CMA too), each
// with its arguments, writable directories and environment, and the merge after. Pure, so that a host test can
// check the plumbing without a VM.
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';

const CMA_HEAPS = ['cma', 'cma-heap', 'pool-cma'];

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

/** A boot: the stock kernel's (every heap but the CMA ones), the CMA kernel's, or the arm64 kernel's (all); what runInVm gets (the caller fills in the kernel); its JSON. */
export interface VmRunPlan {
  boot: 'stock' | 'cma' | 'arm64';
  options: { command: string[]; cwd: string; writable: string[]; memory: string; cmdline?: string; env: Record<string, string>; timeoutMs: number };
  json: string;
}

/**
 * The boots, and around them: the host's calibration (`calibrate` writes `hostCalibration`, every boot reads it), the
 * directories to make first (the guest cannot make mount points), the merge (`--render … --merge …`) of the CMA boot's heaps.
 * `cmaCmdline`: the CMA kernel's command line addition (`cma=256M`); `progressLines`: the guest prints `@@progress` lines.
 */
export function planBench(argv: readonly string[], o: { root: string; cmaCmdline: string; progressLines: boolean }) {
  const cli = ['node', 'apps/bench/dist/cli.js'];
  const root = resolve(o.root);
  const abs = (p: string) => resolve(root, p);
  const arch = optionValue(argv, 'arch') ?? 'x64';
  if (!['x64', 'arm64'].includes(arch)) throw new Error(`--arch ${arch}: the test bed boots x64 or arm64 guests`);
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
  const run = (boot: VmRunPlan['boot'], runArgs: string[], out: string): VmRunPlan => ({
    boot,
    options: { ...base, command: [...cli, ...runArgs], ...(boot === 'stock' ? {} : { cmdline: o.cmaCmdline }) },
    json: abs(out),
  });
  // The arm64 test kernel has the system heap, CMA (with the caller's cma=) and udmabuf: every heap in one boot. Elsewhere
  // the kernel heap runs again in the CMA boot: the CMA heaps' ratios are to it, measured side by side.
  let cmaArgs = withOption(withOption(args, 'heaps', ['kernel', ...cmaHeaps].join(',')), 'json', cmaJson);
  if (cmaJson !== json) cmaArgs = withOption(cmaArgs, 'html', cmaJson.replace(/\.json$/, '.html'));
  const runs = arch === 'arm64' ? [run('arm64', args, json)] : [...(stockHeaps?.length !== 0 ? [run('stock', args, json)] : []), ...(cmaHeaps.length ? [run('cma', cmaArgs, cmaJson)] : [])];
  const merged = cmaHeaps.length > 0 && cmaJson !== json;
  return {
    arch, quick, memory, hostCalibration, calibrate: [...cli, '--calibrate', hostCalibration], mkdirs, runs, cmaHeaps,
    ...(merged ? { merge: ['--render', abs(json), '--merge', abs(cmaJson), ...(html ? ['--html', abs(html)] : [])], mergeInputs: [abs(json), abs(cmaJson)] } : {}),
  };
}
