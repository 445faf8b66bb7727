// What scripts/bench.mjs boots, without booting: the arguments, writable directories and environment of each
// VM run, and the merge after (apps/bench/src/vm-plan.ts, which the script imports built).
import { describe, expect, it } from 'vitest';
import { optionValue, planBench, withOption, writableDirs } from './vm-plan.js';

const root = '/work/checkout';
const plan = (args: string[], progressLines = false) => planBench(args, { root, cmaCmdline: 'cma=256M', progressLines });

describe('the VM runs of npm run bench', () => {
  it('by default: the checkout writable, the JSON in bench-results, the host calibration beside it, then the merge', () => {
    const p = plan([]);
    expect(p.memory).toBe('2G');
    expect(p.runs.map((r) => r.boot)).toEqual(['stock', 'cma']);
    const [stock, cma] = p.runs;
    expect(stock!.options.writable).toEqual([root]);
    expect(stock!.options.command).toEqual(['node', 'apps/bench/dist/cli.js', '--json', 'bench-results/bench.json', '--host-calibration', `${root}/bench-results/host-calibration.json`]);
    expect(p.calibrate).toEqual(['node', 'apps/bench/dist/cli.js', '--calibrate', `${root}/bench-results/host-calibration.json`]);
    expect(optionValue(cma!.options.command, 'heaps')).toBe('kernel,cma,cma-heap,pool-cma');
    expect(optionValue(cma!.options.command, 'json')).toBe('bench-results/bench-cma.json');
    expect(cma!.options.cmdline).toBe('cma=256M');
    expect(p.merge).toEqual(['--render', `${root}/bench-results/bench.json`, '--merge', `${root}/bench-results/bench-cma.json`]);
    expect(stock!.options.env).toEqual({});
  });

  it('makes the directories of --json and --html outside the checkout writable in both boots, and merges there', () => {
    const p = plan(['--quick', '--json', '/var/tmp/x/r.json', '--html=/srv/reports/r.html']);
    expect(p.memory).toBe('1G');
    expect(p.mkdirs).toEqual(['/var/tmp/x', '/srv/reports']);
    for (const run of p.runs) {
      expect(run.options.writable).toEqual([root, '/var/tmp/x', '/srv/reports']);
      expect(run.options.cwd).toBe(root);
    }
    expect(p.runs.map((r) => r.json)).toEqual(['/var/tmp/x/r.json', '/var/tmp/x/r-cma.json']);
    expect(optionValue(p.runs[1]!.options.command, 'html')).toBe('/var/tmp/x/r-cma.html');
    expect(p.hostCalibration).toBe('/var/tmp/x/host-calibration.json');
    expect(p.merge).toEqual(['--render', '/var/tmp/x/r.json', '--merge', '/var/tmp/x/r-cma.json', '--html', '/srv/reports/r.html']);
    expect(p.mergeInputs).toEqual(['/var/tmp/x/r.json', '/var/tmp/x/r-cma.json']);
  });

  it('resolves a relative --json against the checkout, where the guest runs', () => {
    const p = plan(['--json', '../elsewhere/out.json']);
    expect(p.runs[0]!.options.writable).toEqual([root, '/work/elsewhere']);
    expect(p.mkdirs).toEqual(['/work/elsewhere']);
  });

  it('boots only what the heaps asked for need', () => {
    expect(plan(['--heaps', 'kernel,skipsync']).runs.map((r) => r.boot)).toEqual(['stock']);
    const cmaOnly = plan(['--heaps', 'cma-heap', '--json', 'out/c.json']);
    expect(cmaOnly.runs.map((r) => [r.boot, r.json])).toEqual([['cma', `${root}/out/c.json`]]);
    expect(cmaOnly.merge).toBeUndefined();
  });

  it('asks the guest for progress lines only when the host draws the bar', () => {
    expect(plan([], true).runs.every((r) => r.options.env['DMAHEAP_PROGRESS'] === 'lines')).toBe(true);
  });
});

describe('the argument helpers', () => {
  it('read and replace options in both spellings', () => {
    expect(optionValue(['--json=a.json'], 'json')).toBe('a.json');
    expect(optionValue(['--json', 'a.json'], 'json')).toBe('a.json');
    expect(optionValue(['--quick'], 'json')).toBeUndefined();
    expect(withOption(['--json=a', '--quick', '--heaps', 'x'], 'heaps', 'y')).toEqual(['--json=a', '--quick', '--heaps', 'y']);
  });

  it('share a directory once, inside another shared one not at all', () => {
    expect(writableDirs('/r', ['/r/bench-results', '/var/tmp/x/sub', '/var/tmp/x', '/var/tmp/xy'])).toEqual(['/r', '/var/tmp/x', '/var/tmp/xy']);
  });

  it('--arch arm64: one boot of the arm64 test kernel with every heap (CMA too), its own JSON, no merge', () => {
    const p = plan(['--quick', '--arch', 'arm64']);
    expect(p.arch).toBe('arm64');
    expect(p.runs.map((r) => r.boot)).toEqual(['arm64']);
    const [run] = p.runs;
    expect(run!.options.command).toEqual([
      'node', 'apps/bench/dist/cli.js', '--quick', '--json', 'bench-results/bench-arm64.json', '--host-calibration', `${root}/bench-results/host-calibration.json`,
    ]);
    expect(run!.options.cmdline).toBe('cma=256M');
    expect(p.merge).toBeUndefined();
    expect(plan(['--arch=x64']).runs.map((r) => r.boot)).toEqual(['stock', 'cma']);
    expect(() => plan(['--arch', 'riscv64'])).toThrow(/x64 or arm64/);
  });
});
