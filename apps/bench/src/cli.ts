#!/usr/bin/env node
// dmaheap-bench: the seed series' allocation microbenchmark, every heap side by side, ratios to the kernel heap.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { calibrate, CALIBRATION_DEFAULTS, dominance } from './calibrate.js';
import { renderHtml } from './html.js';
import { seedLine } from './loops.js';
import { inTestBed } from './pressure.js';
import { Progress } from './progress.js';
import { calibrationText, formatNs, formatSize, mergeRuns, parseSize, pressureText, SCENARIO_ORDER, table } from './report.js';
import { addRatios } from './rounds.js';
import { estimateMs, plan, runTasks, SCENARIO_NAMES, taskKey, type RunContext } from './scenarios.js';
import type { BenchReport, CalibrationFigures, LoopOptions, Result, RoundOptions } from './types.js';
import { VARIANTS } from './variants.js';

const FORMAT = 'dmaheap-bench/3';
const USAGE = `usage: dmaheap-bench [--heaps id,...] [--sizes 4K,1M,...] [--iterations N] [--max-seconds S] [--rounds N]
                     [--scenarios name,...] [--quick | --full] [--json FILE] [--html FILE] [--host-calibration FILE] [--list]
       dmaheap-bench --calibrate FILE                       (only the calibration figures, as JSON: the host's, for a VM run)
       dmaheap-bench --render FILE.json [--html FILE]      (the HTML report of an earlier run)
       dmaheap-bench --render FILE.json --merge OTHER.json [--json OUT] [--html FILE]
                     (add the heaps of a run on another kernel, e.g. the CMA test kernel's, to FILE.json)
heaps: ${VARIANTS.map((v) => v.id).join(', ')}
scenarios: ${SCENARIO_NAMES.join(', ')}`;

const text = { type: 'string' } as const;
const flag = { type: 'boolean', default: false } as const;
const OPTIONS = {
  heaps: text, sizes: text, iterations: text, 'max-seconds': text, rounds: text, scenarios: { type: 'string', default: SCENARIO_NAMES.join(',') },
  quick: flag, full: flag, calibrate: text, 'host-calibration': text, json: text, html: text, render: text, merge: text, list: flag, help: flag,
} as const;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}
function attempt<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    return fail(`${what}${(err as Error).message}`);
  }
}
function write(path: string, body: string, what: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, body);
  console.log(`${what} written to ${path}`);
}
const readJson = <T>(path: string) => JSON.parse(readFileSync(path, 'utf8')) as T;
const printTables = (results: Result[]) => SCENARIO_ORDER.filter((s) => results.some((r) => r.scenario === s)).forEach((s) => console.log('\n' + table(results, s)));

const { values } = attempt('', () => parseArgs({ options: OPTIONS }));
/** `--html`, else `bench.html` beside the JSON, else `bench-results/bench.html`. */
const htmlPath = (json: string | undefined) => values.html ?? join(json ? dirname(json) : 'bench-results', 'bench.html');
if (values.merge && !values.render) fail('--merge needs --render FILE.json (the run to add to)');
if (values.quick && values.full) fail('--quick and --full: choose one');

if (values.help) console.log(USAGE);
else if (values.list) for (const v of VARIANTS) console.log(`${v.id.padEnd(14)} ${v.label}${v.skip() ? `  (skipped here: ${v.skip()})` : ''}`);
else if (values.calibrate) {
  // On the host the figures cost milliseconds: more repetitions steady a median that a busy host disturbs.
  write(values.calibrate, JSON.stringify(calibrate({ ...CALIBRATION_DEFAULTS, repeats: 15 }), null, 2) + '\n', 'Calibration');
} else if (values.render) {
  const read = (path: string) => {
    const r = readJson<BenchReport>(path);
    return r.format === FORMAT ? r : fail(`${path}: format ${JSON.stringify(r.format)} is not the one this version reads (${FORMAT})`);
  };
  let report = read(values.render);
  if (values.merge) {
    report = mergeRuns(report, read(values.merge));
    const added = report.mergedRuns!.at(-1)!;
    console.log(`Added ${added.variants.join(', ') || 'nothing'} from the run on Linux ${added.machine.kernel} (${values.merge})`);
    write(values.json ?? values.render, JSON.stringify(report, null, 2) + '\n', 'JSON');
    printTables(report.results);
    console.log('');
  }
  write(htmlPath(values.json ?? values.render), renderHtml(report), 'HTML');
} else await run();

async function run(): Promise<void> {
  const positive = (given: string, what: string) => {
    const n = Number(given);
    return n > 0 && Number.isFinite(n) ? n : fail(`${what} must be a positive number, not ${JSON.stringify(given)}`);
  };
  const sizes = attempt('', () => (values.sizes ?? '4K,1M,8M,32M').split(',').map(parseSize));
  const heaps = values.heaps?.split(',');
  const scenarios = values.scenarios.split(',');
  const unknown = [...(heaps ?? []).filter((h) => !VARIANTS.some((v) => v.id === h)).map((h) => `heap ${h}`), ...scenarios.filter((s) => !SCENARIO_NAMES.includes(s)).map((s) => `scenario ${s}`)];
  if (unknown.length) fail(`unknown ${unknown.join(', ')}`);

  // Three lengths (apps/bench/README.md says what each took). The seed loop runs in interleaved rounds; every other run
  // stops at its time cap once it made its least number of calls; pressure runs at least pressureMs, so that the pools'
  // PSI monitors sample it. Unless --sizes is given, the scenarios beyond the seed loop leave out sizes above 8 MiB, except with --full.
  const mode = values.quick ? 'quick' : values.full ? 'full' : 'default';
  const MODES: Record<typeof mode, { loop: LoopOptions; rounds: RoundOptions; pressureMs: number }> = {
    quick: { loop: { iterations: 200, maxMs: 100, warmup: 5, minIterations: 3 }, rounds: { rounds: 3, roundMs: 40, minIterations: 1, iterations: 200 }, pressureMs: 0 },
    default: { loop: { iterations: 2000, maxMs: 200, warmup: 10, minIterations: 2 }, rounds: { rounds: 15, roundMs: 60, minIterations: 1, iterations: 2000 }, pressureMs: 1200 },
    full: { loop: { iterations: 5000, maxMs: 8000, warmup: 20, minIterations: 8 }, rounds: { rounds: 15, roundMs: 300, minIterations: 3, iterations: 5000 }, pressureMs: 0 },
  };
  const { loop, rounds, pressureMs } = structuredClone(MODES[mode]);
  if (values.iterations) loop.iterations = rounds.iterations = Math.round(positive(values.iterations, '--iterations'));
  if (values['max-seconds']) loop.maxMs = positive(values['max-seconds'], '--max-seconds') * 1000;
  rounds.rounds = Number(values.rounds ?? rounds.rounds);
  if (!Number.isInteger(rounds.rounds) || rounds.rounds < 0) fail(`--rounds must be a whole number (0: no rounds), not ${JSON.stringify(values.rounds)}`);
  const host = values['host-calibration'] && attempt('--host-calibration: ', () => readJson<CalibrationFigures>(values['host-calibration']!));

  const cpuInfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const machine: BenchReport['machine'] = {
    kernel: release(), arch: process.arch, node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryBytes: totalmem(),
    inVm: inTestBed(), emulated: process.env.DMAHEAP_VM_ACCEL === 'tcg' || /QEMU TCG|QEMU Virtual/.test(cpuInfo),
  };
  console.log(
    `dmaheap-bench on Linux ${machine.kernel} (${machine.arch}), Node ${machine.node}, ${machine.cpus} × ${machine.cpuModel}` +
      `${machine.inVm ? ', in the VM test bed' : ''}${machine.emulated ? ' under software emulation: compare ratios, not absolute times' : ''}`,
  );

  const otherSizes = mode !== 'full' && !values.sizes ? sizes.filter((s) => s <= 8 * 2 ** 20) : sizes;
  const { tasks, skipped } = plan(scenarios, heaps, sizes, otherSizes, rounds.rounds);
  for (const s of skipped) console.log(`skipped ${s.label}: ${s.reason}`);
  if (tasks.length === 0) {
    console.error('Nothing can run here: no heap the chosen scenarios can use (see the reasons above).');
    process.exit(1);
  }
  const started = Date.now();
  // First the calibration (a few seconds under emulation); the host's figures come from scripts/bench.mjs.
  const here = calibrate(mode === 'quick' ? { ...CALIBRATION_DEFAULTS, repeats: 3 } : CALIBRATION_DEFAULTS);
  const ctx: RunContext = { loop, otherSizes, info: {}, ...(rounds.rounds > 0 ? { rounds } : {}), pressureMs };
  const progress = new Progress(tasks.map((t) => ({ key: taskKey(t), estimateMs: estimateMs(ctx, t) })));
  const sizeOf = (r: { scenario: string; size: number }) => (r.scenario === 'mix' ? 'mix' : formatSize(r.size));
  const { results, failures } = await runTasks(tasks, ctx, {
    step: (t) => {
      const round = t.round === undefined ? '' : t.round === 0 ? ' warm-up' : ` round ${t.round}/${t.rounds}`;
      progress.step(`${t.scenario}${round} ${t.variant.label} ${t.scenario === 'mix' ? '' : formatSize(t.size)}`);
    },
    done: (_, ms) => progress.tick(ms),
    result: (r) =>
      progress.log(
        r.scenario === 'seed'
          ? `${r.label.padEnd(52)} ${seedLine(r)}`
          : `[${r.scenario}] ${r.label.padEnd(52)} ${sizeOf(r).padStart(8)}  ${r.iterations} × ${formatNs(r.nsPerCall)}/call, ${r.gbPerSec.toFixed(3)} GB/s`,
      ),
    failed: (t, f) => progress.log(`[${t.scenario}] ${t.variant.label.padEnd(52)} ${formatSize(t.size).padStart(8)}  FAILED: ${f.error}`),
  });
  progress.end();
  addRatios(results);
  printTables(results);

  const report: BenchReport = {
    format: FORMAT, date: new Date().toISOString(), machine,
    options: {
      sizes, ...loop, scenarios, mode,
      ...(rounds.rounds > 0 ? { rounds } : {}), ...(otherSizes.length !== sizes.length ? { otherSizes } : {}), ...(pressureMs ? { pressureMs } : {}),
    },
    calibration: { here, ...(host ? { host } : {}), dominance: dominance(results) },
    scenarioInfo: ctx.info, skipped, ...(failures.length ? { failures } : {}), results,
  };
  console.log('\n' + calibrationText(report) + '\n');
  if (ctx.info.pressure) console.log(pressureText(ctx.info.pressure).join('\n'));
  if (values.json) write(values.json, JSON.stringify(report, null, 2) + '\n', 'JSON');
  write(htmlPath(values.json), renderHtml(report), 'HTML');
  if (machine.emulated) console.log('Measured under software emulation: compare the ratios, not the absolute times.');
  console.log(
    `${mode} run; sizes: ${sizes.map(formatSize).join(', ')}` +
      (rounds.rounds > 0 ? `; seed loop: ${rounds.rounds} rounds of up to ${rounds.roundMs} ms per heap after a warm-up round` : '') +
      `; other runs: up to ${loop.iterations} calls or ${loop.maxMs / 1000} s; ${tasks.length} runs in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  if (failures.length) {
    console.error(`${failures.length} of ${tasks.length} runs failed:`);
    for (const f of failures) console.error(`  ${f.scenario} ${f.variant} ${formatSize(f.size)}: ${f.error}`);
    process.exitCode = 1;
  }
}
