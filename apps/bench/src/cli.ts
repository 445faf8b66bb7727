#!/usr/bin/env node
// dmaheap-bench: the seed series' allocation microbenchmark, every heap side by side, ratios to the kernel heap.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { calibrate, CALIBRATION_DEFAULTS, type CalibrationFigures } from './calibrate.js';
import { addVerdicts, calibrationRows, dominance, inflation, type Calibration } from './emulation.js';
import { renderHtml } from './html.js';
import { seedLine, type LoopOptions } from './measure.js';
import { Eta, Progress } from './progress.js';
import {
  addRatios,
  calibrationText,
  FORMAT,
  formatNs,
  formatSize,
  mergeRuns,
  parseSize,
  pressureText,
  READABLE_FORMATS,
  SCENARIO_ORDER,
  table,
  type BenchReport,
} from './report.js';
import { estimateMs, plan, runTasks, SCENARIO_NAMES, taskKey, type RoundOptions, type RunContext, type Task } from './scenarios.js';
import { VARIANTS } from './variants.js';

const USAGE = `usage: dmaheap-bench [--heaps id,...] [--sizes 4K,1M,...] [--iterations N] [--max-seconds S] [--rounds N]
                     [--scenarios name,...] [--quick | --full] [--json FILE] [--html FILE] [--host-calibration FILE] [--list]
       dmaheap-bench --calibrate FILE                       (only the calibration figures, as JSON: the host's, for a VM run)
       dmaheap-bench --render FILE.json [--html FILE]      (the HTML report of an earlier run)
       dmaheap-bench --render FILE.json --merge OTHER.json [--json OUT] [--html FILE]
                     (add the heaps of a run on another kernel, e.g. the CMA test kernel's, to FILE.json)
heaps: ${VARIANTS.map((v) => v.id).join(', ')}
scenarios: ${SCENARIO_NAMES.join(', ')}`;

const OPTIONS = {
  heaps: { type: 'string' },
  sizes: { type: 'string' },
  iterations: { type: 'string' },
  'max-seconds': { type: 'string' },
  scenarios: { type: 'string', default: SCENARIO_NAMES.join(',') },
  quick: { type: 'boolean', default: false },
  full: { type: 'boolean', default: false },
  rounds: { type: 'string' },
  calibrate: { type: 'string' },
  'host-calibration': { type: 'string' },
  json: { type: 'string' },
  html: { type: 'string' },
  render: { type: 'string' },
  merge: { type: 'string' },
  list: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>;
try {
  parsed = parseArgs({ options: OPTIONS });
} catch (err) {
  fail((err as Error).message);
}
const { values } = parsed;

/** `--html`, else `bench.html` beside the JSON, else `bench-results/bench.html`. */
function htmlPath(jsonPath: string | undefined): string {
  return values.html ?? join(jsonPath ? dirname(jsonPath) : 'bench-results', 'bench.html');
}

function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.list) {
  for (const v of VARIANTS) {
    const reason = v.skip();
    console.log(`${v.id.padEnd(14)} ${v.label}${reason ? `  (skipped here: ${reason})` : ''}`);
  }
  process.exit(0);
}
if (values.calibrate) {
  // On the host the figures cost milliseconds: more repetitions steady a median that a busy host disturbs.
  const figures = calibrate({ ...CALIBRATION_DEFAULTS, repeats: 15 });
  writeFile(values.calibrate, JSON.stringify(figures, null, 2) + '\n');
  for (const r of calibrationRows({ here: figures })) console.log(`${r.what.padEnd(62)} ${r.here}`);
  console.log(`Calibration written to ${values.calibrate}`);
  process.exit(0);
}
if (values.merge && !values.render) fail('--merge needs --render FILE.json (the run to add to)');
if (values.quick && values.full) fail('--quick and --full: choose one');
if (values.render) {
  const readReport = (path: string) => {
    const r = JSON.parse(readFileSync(path, 'utf8')) as BenchReport;
    if (!READABLE_FORMATS.includes(r.format)) fail(`${path}: format ${JSON.stringify(r.format)} is not one this version reads (${READABLE_FORMATS.join(', ')})`);
    return r;
  };
  let report = readReport(values.render);
  if (values.merge) {
    report = mergeRuns(report, readReport(values.merge));
    const out = values.json ?? values.render;
    writeFile(out, JSON.stringify(report, null, 2) + '\n');
    const added = report.mergedRuns!.at(-1)!;
    console.log(`Added ${added.variants.join(', ') || 'nothing'} from the run on Linux ${added.machine.kernel} (${values.merge}); JSON written to ${out}`);
    for (const scenario of SCENARIO_ORDER) {
      if (report.results.some((r) => r.scenario === scenario)) console.log('\n' + table(report.results, scenario));
    }
    console.log('');
  }
  const out = htmlPath(values.json ?? values.render);
  writeFile(out, renderHtml(report));
  console.log(`HTML written to ${out}`);
  process.exit(0);
}

const positive = (text: string, what: string) => {
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n)) fail(`${what} must be a positive number, not ${JSON.stringify(text)}`);
  return n;
};
let sizes: number[];
try {
  sizes = (values.sizes ?? '4K,1M,8M,32M').split(',').map(parseSize);
} catch (err) {
  fail((err as Error).message);
}
const heaps = values.heaps?.split(',');
const unknownHeaps = heaps?.filter((w) => !VARIANTS.some((v) => v.id === w));
if (unknownHeaps?.length) fail(`unknown heap ${unknownHeaps.join(', ')}`);
const scenarios = values.scenarios.split(',');
const unknownScenarios = scenarios.filter((s) => !SCENARIO_NAMES.includes(s));
if (unknownScenarios.length) fail(`unknown scenario ${unknownScenarios.join(', ')}`);

// Three lengths (apps/bench/README.md says what each took). The seed loop runs in interleaved rounds; every other
// run stops at its time cap once it made its least number of calls. Unless --sizes is given, the scenarios
// beyond the seed loop leave out sizes above 8 MiB, except with --full.
//  --quick:   for checking that everything runs: 3 rounds of 40 ms, other runs of 0.1 s.
//  (default): 15 rounds of 60 ms, other runs of 0.2 s; pressure runs 1.2 s, so that the pools' PSI monitors sample it.
//  --full:    15 rounds of 0.3 s, other runs of up to 5000 calls or 8 s, every size in every scenario.
const mode = values.quick ? 'quick' : values.full ? 'full' : 'default';
const MODES: Record<string, { loop: LoopOptions; rounds: RoundOptions; pressureMs: number }> = {
  quick: { loop: { iterations: 200, maxMs: 100, warmup: 5, minIterations: 3 }, rounds: { rounds: 3, roundMs: 40, minIterations: 1, iterations: 200 }, pressureMs: 0 },
  default: { loop: { iterations: 2000, maxMs: 200, warmup: 10, minIterations: 2 }, rounds: { rounds: 15, roundMs: 60, minIterations: 1, iterations: 2000 }, pressureMs: 1200 },
  full: { loop: { iterations: 5000, maxMs: 8000, warmup: 20, minIterations: 8 }, rounds: { rounds: 15, roundMs: 300, minIterations: 3, iterations: 5000 }, pressureMs: 0 },
};
const { loop, rounds, pressureMs } = structuredClone(MODES[mode]!);
if (values.iterations) loop.iterations = rounds.iterations = Math.round(positive(values.iterations, '--iterations'));
if (values['max-seconds']) loop.maxMs = positive(values['max-seconds'], '--max-seconds') * 1000;
if (values.rounds !== undefined) {
  const n = Number(values.rounds);
  if (!Number.isInteger(n) || n < 0) fail(`--rounds must be a whole number (0: no rounds), not ${JSON.stringify(values.rounds)}`);
  rounds.rounds = n;
}
let hostCalibration: CalibrationFigures | undefined;
if (values['host-calibration']) {
  try {
    hostCalibration = JSON.parse(readFileSync(values['host-calibration'], 'utf8')) as CalibrationFigures;
  } catch (err) {
    fail(`--host-calibration: ${(err as Error).message}`);
  }
}

const machine: BenchReport['machine'] = {
  kernel: release(),
  arch: process.arch,
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryBytes: totalmem(),
  inVm: process.env.DMAHEAP_IN_VM === '1',
  emulated: process.env.DMAHEAP_VM_ACCEL === 'tcg' || /QEMU TCG|QEMU Virtual/.test(readCpuInfo()),
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
// First the calibration (a few seconds under emulation): what zeroing, system calls, JavaScript calls and
// allocations cost here; the host's figures come from scripts/bench.mjs.
const here = calibrate(mode === 'quick' ? { ...CALIBRATION_DEFAULTS, repeats: 3 } : CALIBRATION_DEFAULTS);

const ctx: RunContext = { loop, sizes, otherSizes, info: {}, ...(rounds.rounds > 0 ? { rounds } : {}), pressureMs };
const progress = new Progress(tasks.length);
const eta = new Eta();
const planned = tasks.map((t) => ({ key: taskKey(t), estimateMs: estimateMs(ctx, t) }));
let next = 0;
const finish = (t: Task, ms?: number) => {
  const p = planned[next++]!;
  if (ms !== undefined) eta.record(p.key, p.estimateMs, ms);
  progress.tick();
};
const stepLabel = (t: Task) =>
  `${t.scenario}${t.round === undefined ? '' : t.round === 0 ? ' warm-up' : ` round ${t.round}/${t.rounds}`} ${t.variant.label} ${t.scenario === 'mix' ? '' : formatSize(t.size)}`;
const { results, failures } = await runTasks(tasks, ctx, {
  before: (t) => progress.step(stepLabel(t), eta.left(planned.slice(next))),
  done: (t, ms) => finish(t, ms),
  result: (r) => {
    if (r.scenario === 'seed') progress.log(`${r.label.padEnd(52)} ${seedLine(r)}`);
    else {
      const what = r.scenario === 'mix' ? 'mix' : formatSize(r.size);
      progress.log(`[${r.scenario}] ${r.label.padEnd(52)} ${what.padStart(8)}  ${r.iterations} × ${formatNs(r.nsPerCall)}/call, ${r.gbPerSec.toFixed(3)} GB/s`);
    }
  },
  failed: (t, f) => {
    finish(t);
    progress.log(`[${t.scenario}] ${t.variant.label.padEnd(52)} ${formatSize(t.size).padStart(8)}  FAILED: ${f.error}`);
  },
  skipped: (t) => finish(t),
});
progress.end();
addRatios(results);
const calibration: Calibration = {
  here,
  ...(hostCalibration ? { host: hostCalibration, inflation: inflation(here, hostCalibration) } : {}),
  dominance: dominance(results, here),
};
addVerdicts(results, calibration);

for (const scenario of SCENARIO_ORDER) {
  if (results.some((r) => r.scenario === scenario)) console.log('\n' + table(results, scenario));
}

const report: BenchReport = {
  format: FORMAT,
  date: new Date().toISOString(),
  machine,
  options: {
    sizes,
    ...loop,
    quick: values.quick,
    scenarios,
    mode,
    ...(rounds.rounds > 0 ? { rounds } : {}),
    ...(otherSizes.length !== sizes.length ? { otherSizes } : {}),
    ...(pressureMs ? { pressureMs } : {}),
  },
  calibration,
  scenarioInfo: ctx.info,
  skipped,
  ...(failures.length ? { failures } : {}),
  results,
};
console.log('\n' + calibrationText(report) + '\n');
if (ctx.info.pressure) console.log(pressureText(ctx.info.pressure).join('\n'));
if (values.json) {
  writeFile(values.json, JSON.stringify(report, null, 2) + '\n');
  console.log(`JSON written to ${values.json}`);
}
const html = htmlPath(values.json);
writeFile(html, renderHtml(report));
console.log(`HTML written to ${html}`);
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

function readCpuInfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}
