#!/usr/bin/env node
// dmaheap-bench: the seed series' allocation microbenchmark, every heap side by side, ratios to the kernel heap.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderHtml } from './html.js';
import { seedLine, type LoopOptions } from './measure.js';
import { Progress } from './progress.js';
import { addRatios, FORMAT, formatBytes, formatNs, formatSize, mergeRuns, parseSize, SCENARIO_ORDER, table, type BenchReport } from './report.js';
import { plan, runTasks, SCENARIO_NAMES, type RunContext } from './scenarios.js';
import { VARIANTS } from './variants.js';

const USAGE = `usage: dmaheap-bench [--heaps id,...] [--sizes 4K,1M,...] [--iterations N] [--max-seconds S]
                     [--scenarios name,...] [--quick] [--json FILE] [--html FILE] [--list]
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
if (values.merge && !values.render) fail('--merge needs --render FILE.json (the run to add to)');
if (values.render) {
  const readReport = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as BenchReport;
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

// --quick: every run stops after a tenth of a second (at least 3 calls), so the whole set fits in about a minute
// of emulated guest time; --iterations and --max-seconds still override.
// Unless --sizes is given, the scenarios beyond the seed loop leave out sizes above 8 MiB then.
const loop: LoopOptions = values.quick
  ? { iterations: 200, maxMs: 100, warmup: 5, minIterations: 3 }
  : { iterations: 5000, maxMs: 8000, warmup: 20, minIterations: 8 };
if (values.iterations) loop.iterations = Math.round(positive(values.iterations, '--iterations'));
if (values['max-seconds']) loop.maxMs = positive(values['max-seconds'], '--max-seconds') * 1000;

const machine: BenchReport['machine'] = {
  kernel: release(),
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryBytes: totalmem(),
  inVm: process.env.DMAHEAP_IN_VM === '1',
  emulated: process.env.DMAHEAP_VM_ACCEL === 'tcg' || /QEMU TCG|QEMU Virtual/.test(readCpuInfo()),
};
console.log(
  `dmaheap-bench on Linux ${machine.kernel}, Node ${machine.node}, ${machine.cpus} × ${machine.cpuModel}` +
    `${machine.inVm ? ', in the VM test bed' : ''}${machine.emulated ? ' under software emulation: compare ratios, not absolute times' : ''}`,
);

const otherSizes = values.quick && !values.sizes ? sizes.filter((s) => s <= 8 * 2 ** 20) : sizes;
const { tasks, skipped } = plan(scenarios, heaps, sizes, otherSizes);
for (const s of skipped) console.log(`skipped ${s.label}: ${s.reason}`);
if (tasks.length === 0) {
  console.error('Nothing can run here: no heap the chosen scenarios can use (see the reasons above).');
  process.exit(1);
}

const ctx: RunContext = { loop, sizes, otherSizes, info: {} };
const progress = new Progress(tasks.length);
const started = Date.now();
const { results, failures } = await runTasks(tasks, ctx, {
  before: (t) => progress.step(`${t.scenario} ${t.variant.label} ${formatSize(t.size)}`),
  after: (t, r) => {
    progress.tick();
    if (r.scenario === 'seed') progress.log(`${r.label.padEnd(52)} ${seedLine(r)}`);
    else {
      const what = r.scenario === 'mix' ? 'mix' : formatSize(r.size);
      progress.log(`[${r.scenario}] ${r.label.padEnd(52)} ${what.padStart(8)}  ${r.iterations} × ${formatNs(r.nsPerCall)}/call, ${r.gbPerSec.toFixed(3)} GB/s`);
    }
  },
  failed: (t, f) => {
    progress.tick();
    progress.log(`[${t.scenario}] ${t.variant.label.padEnd(52)} ${formatSize(t.size).padStart(8)}  FAILED: ${f.error}`);
  },
});
progress.end();
addRatios(results);

for (const scenario of SCENARIO_ORDER) {
  if (results.some((r) => r.scenario === scenario)) console.log('\n' + table(results, scenario));
}

const report: BenchReport = {
  format: FORMAT,
  date: new Date().toISOString(),
  machine,
  options: { sizes, ...loop, quick: values.quick, scenarios },
  scenarioInfo: ctx.info,
  skipped,
  ...(failures.length ? { failures } : {}),
  results,
};
console.log('');
if (ctx.info.pressure) {
  const p = ctx.info.pressure;
  console.log(
    `pressure: another process held ${formatBytes(p.heldBytes)} of ${formatBytes(p.availableBefore)} available` +
      `${p.stallUs !== undefined ? `; memory stall (PSI some) grew ${(p.stallUs / 1000).toFixed(1)} ms` : ''}${p.hogLost ? '; the OOM killer took it' : ''}`,
  );
}
if (values.json) {
  writeFile(values.json, JSON.stringify(report, null, 2) + '\n');
  console.log(`JSON written to ${values.json}`);
}
const html = htmlPath(values.json);
writeFile(html, renderHtml(report));
console.log(`HTML written to ${html}`);
if (machine.emulated) console.log('Measured under software emulation: compare the ratios, not the absolute times.');
console.log(
  `sizes: ${sizes.map(formatSize).join(', ')}; iterations up to ${loop.iterations}, at most ${loop.maxMs / 1000} s per run; ` +
    `${tasks.length} runs in ${((Date.now() - started) / 1000).toFixed(0)} s`,
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
