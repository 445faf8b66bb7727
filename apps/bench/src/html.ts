// The HTML report: one self-contained file (Chart.js, the data and the page's script inlined) that opens
// offline. The text and tables are written here; the charts are drawn in the page by page.ts.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Result, Scenario } from './measure.js';
import { drawCharts } from './page.js';
import { calibrationRows, COST_NAMES, formatShares, verdictNote, type Calibration } from './emulation.js';
import { flagLegend, formatBytes, formatNs, formatSize, hardwareSummary, pressureText, ratioFlags, ratioText, resultLabel, SCENARIO_ORDER, SCENARIO_TITLES, type BenchReport } from './report.js';

const require = createRequire(import.meta.url);

/** Chart.js's browser build (UMD, minified, with its licence header), from the installed package. */
export function chartJsSource(): { source: string; version: string } {
  const dir = dirname(require.resolve('chart.js'));
  const pkg = JSON.parse(readFileSync(join(dir, '..', 'package.json'), 'utf8')) as { version: string };
  return { source: readFileSync(join(dir, 'chart.umd.min.js'), 'utf8'), version: pkg.version };
}

const esc = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON that is safe inside a <script> element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

function resultsTable(results: Result[], inflation: Calibration['inflation']): string {
  const rows = SCENARIO_ORDER.flatMap((s) => results.filter((r) => r.scenario === s)).map((r) => {
    const cells = [
      r.scenario,
      resultLabel(r),
      r.scenario === 'mix' ? `mix (mean ${formatSize(r.size)})` : formatSize(r.size),
      `${r.iterations}${r.iterations < r.requested ? ` of ${r.requested}` : ''}`,
      formatNs(r.nsPerCall),
      r.gbPerSec.toFixed(3),
      r.call ? formatNs(r.call.p50) : '',
      r.call ? formatNs(r.call.p99) : '',
      r.call ? formatNs(r.call.max) : '',
      r.alloc ? formatNs(r.alloc.p50) : '',
      r.free ? formatNs(r.free.p50) : '',
      r.rounds ? String(r.rounds.length) : '',
      ratioText(r),
      r.meanRatio ? ratioText({ ratioToKernel: r.meanRatio.median, ratioSpread: r.meanRatio }) : '',
    ];
    const title = r.hardware && inflation ? ` title="${esc(verdictNote(r.hardware, inflation))}"` : '';
    return `<tr${title}>${cells.map((c, i) => `<td${i > 2 ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`;
  });
  const head = ['scenario', 'heap', 'size', 'calls', 'ns/call', 'GB/s', 'p50', 'p99', 'max', 'alloc p50', 'free p50', 'turns', 'vs kernel [spread]', 'from means'];
  return `<table class="results"><thead><tr>${head.map((h, i) => `<th${i > 2 ? ' class="num"' : ''}>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/**
 * The seed loop's ratios to the kernel heap: a row per heap, a column per size (what the closing notes quote),
 * each with its spread over the rounds and its flags (`?`: the spread crosses 1; `~`: not a hardware figure).
 */
function ratioTable(results: Result[], scenario: Scenario, inflation: Calibration['inflation']): string {
  const mine = results.filter((r) => r.scenario === scenario);
  const sizes = [...new Set(mine.map((r) => r.size))].sort((a, b) => a - b);
  const variants = [...new Map(mine.map((r) => [r.variant, resultLabel(r)])).entries()];
  const cell = (r: Result | undefined) => {
    if (!r) return '<td></td>';
    const flags = ratioFlags(r);
    const classes = ['num', ...(r.ratioCrossesOne ? ['crosses-one'] : []), ...(r.hardware && !r.hardware.holds ? ['not-hardware'] : [])];
    const title = r.hardware && inflation ? ` title="${esc(verdictNote(r.hardware, inflation))}"` : '';
    const ratio = r.ratioToKernel === undefined ? '' : ratioText({ ratioToKernel: r.ratioToKernel }).trim();
    const spread = r.ratioSpread && r.variant !== 'kernel' ? ` <span class="spread">${esc(ratioText({ ratioToKernel: 1, ratioSpread: r.ratioSpread }).replace(/^×\S+ /, ''))}</span>` : '';
    return `<td class="${classes.join(' ')}"${title} data-variant="${esc(r.variant)}" data-size="${r.size}"><strong>${esc(ratio)}</strong>${spread}${flags ? ` <span class="flag">${esc(flags)}</span>` : ''} <span class="ns">${esc(formatNs(r.nsPerCall))}</span></td>`;
  };
  return `<table class="ratios"><thead><tr><th>heap</th>${sizes.map((s) => `<th class="num">${esc(formatSize(s))}</th>`).join('')}</tr></thead><tbody>${variants
    .map(([id, label]) => `<tr><td>${esc(label)}</td>${sizes.map((s) => cell(mine.find((r) => r.variant === id && r.size === s))).join('')}</tr>`)
    .join('')}</tbody></table>${legend(mine)}`;
}

function legend(results: Result[]): string {
  const lines = flagLegend(results);
  return lines.length ? `<ul class="note legend">${lines.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>` : '';
}

/** The calibration block: the figures here and on the host, what dominates each scenario, and what that means for the ratios. */
function calibrationBlock(report: BenchReport): string {
  const cal = report.calibration;
  if (!cal) return '<section id="calibration"><h2>Calibration</h2><p class="note">This report has no calibration block (it was made before format 3).</p></section>';
  const m = report.machine;
  const hereName = m.inVm ? `here: the guest (Linux ${cal.here.kernel}${m.emulated ? ', emulated' : ''})` : `here: this machine (Linux ${cal.here.kernel})`;
  const rows = calibrationRows(cal);
  const table = `<table class="calibration"><thead><tr><th>what</th><th class="num">${esc(hereName)}</th><th class="num">${esc(cal.host ? `host (Linux ${cal.host.kernel})` : 'host')}</th><th class="num">here ÷ host (time)</th></tr></thead><tbody>${rows
    .map((r) => `<tr><td>${esc(r.what)}</td><td class="num">${esc(r.here)}</td><td class="num">${esc(r.host || (cal.host ? '–' : 'not measured'))}</td><td class="num">${esc(r.factor)}</td></tr>`)
    .join('')}</tbody></table>`;
  const dom = cal.dominance.length
    ? `<p class="note">What the kernel heap’s call is made of, per scenario and size (measured for the seed loop from the kernel heap and its C loop: the C loop at the smallest size is system calls and fixed kernel work, what it adds with size is the kernel allocating and zeroing pages, what the JavaScript heap adds over it is Node’s; estimated from the calibration otherwise):</p>
<table class="dominance"><thead><tr><th>scenario</th><th class="num">size</th><th>dominated by</th><th>shares of its time</th></tr></thead><tbody>${cal.dominance
        .map(
          (d) =>
            `<tr><td>${esc(d.scenario)}</td><td class="num">${esc(d.scenario === 'mix' ? `mix (mean ${formatSize(d.size)})` : formatSize(d.size))}</td><td>${esc(COST_NAMES[d.dominant])}</td><td>${esc(formatShares(d.shares))}${d.measured ? '' : ' (estimated)'}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  const summary = hardwareSummary(report).filter((l) => l.trim());
  return `<section id="calibration"><h2>Calibration</h2>
<p class="note">What each kind of work costs where the benchmark ran${cal.host ? ', on the host, and how much slower it is here' : ''}. A ratio between two heaps carries over to hardware only when what each spends its time on is slowed alike here; the ratios marked ~ are not hardware figures (hover a ratio for its factors).</p>
<div class="table-wrap">${table}</div>
${dom}
${summary.length ? `<p class="note">${esc(summary[0]!.trim())}</p>${summary.length > 1 ? `<ul class="note hardware">${summary.slice(1).map((l) => `<li>${esc(l.trim())}</li>`).join('')}</ul>` : ''}` : ''}
</section>`;
}

function figure(id: string, caption: string, className = ''): string {
  return `<figure class="${className}"><div class="chart"><canvas id="${id}" role="img" aria-label="${esc(caption)}"></canvas></div><figcaption>${esc(caption)}</figcaption></figure>`;
}

export function renderHtml(report: BenchReport): string {
  const { source: chartJs, version } = chartJsSource();
  const m = report.machine;
  const results = report.results;
  const has = (s: Scenario) => results.some((r) => r.scenario === s);
  const seedSizes = [...new Set(results.filter((r) => r.scenario === 'seed').map((r) => r.size))].sort((a, b) => a - b);
  const facts = [
    ['kernel', `Linux ${m.kernel}`],
    ['Node', m.node],
    ['machine', `${m.cpus} × ${m.cpuModel}, ${formatBytes(m.memoryBytes)} memory${m.inVm ? ', in the VM test bed (QEMU)' : ''}`],
    ['emulated', m.emulated ? 'yes: software emulation (QEMU TCG)' : 'no'],
    [
      'run',
      `${report.date}; ${report.options.mode ?? (report.options.quick ? 'quick' : 'full')} run` +
        (report.options.rounds ? `; seed loop in ${report.options.rounds.rounds} interleaved rounds of up to ${report.options.rounds.roundMs} ms per heap, after a warm-up round` : '') +
        `; other runs up to ${report.options.iterations} calls or ${report.options.maxMs / 1000} s`,
    ],
    ...(report.mergedRuns ?? []).map((run) => [
      'second boot',
      `Linux ${run.machine.kernel}, ${run.date}: ${run.variants.join(', ')} (rows marked [${run.machine.kernel}]; their ratios are to that boot’s own kernel heap)`,
    ]),
  ];
  const banner = m.emulated
    ? '<p class="banner"><strong>Measured under software emulation: ratios, not absolute speeds.</strong> A JavaScript call costs microseconds under QEMU TCG while the kernel’s C runs comparatively fast, so read the ratios to the kernel heap, not the times.</p>'
    : '';
  const info = report.scenarioInfo;
  const notes: string[] = [];
  if (info.mix) notes.push(`mix: ${info.mix.pattern.map((b) => b.toLocaleString('en')).join(', ')} bytes in turn, ${info.mix.live} buffers alive at once`);
  if (info.workers) notes.push(`workers: ${info.workers.threads} worker threads, each with its own heap, started together`);
  if (info.pressure) notes.push(...pressureText(info.pressure).map((l) => l.trim()));
  const others = (['mix', 'touch', 'sync-private', 'sync-shared', 'workers', 'pressure', 'share'] as const).filter(has);

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dmaheap bench: ${esc(report.date)}</title>
<style>
  :root { color-scheme: light; --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; }
  body { font: 14px/1.45 system-ui, "DejaVu Sans", sans-serif; color: var(--fg); margin: 0 auto; max-width: 1200px; padding: 20px 28px 48px; }
  h1 { font-size: 24px; margin: 0 0 8px; } h2 { font-size: 18px; margin: 32px 0 4px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
  p.lead, figcaption, .note { color: var(--muted); }
  dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0 12px; }
  dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
  .banner { background: #fff4d6; border: 1px solid #f0c85a; border-radius: 6px; padding: 8px 12px; }
  figure { margin: 12px 0; } .chart { position: relative; height: 380px; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 8px 24px; }
  .grid .chart { height: 320px; }
  table { border-collapse: collapse; font-size: 12.5px; width: 100%; }
  th, td { border-bottom: 1px solid var(--line); padding: 3px 8px; text-align: left; white-space: nowrap; }
  th { background: #f3f5f9; position: sticky; top: 0; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  .table-wrap { overflow-x: auto; } table.ratios { width: auto; margin-top: 6px; } table.ratios td, table.ratios th { padding: 3px 14px; }
  span.ns { color: var(--muted); font-size: 11.5px; } span.spread { color: var(--muted); font-size: 11.5px; } span.flag { color: #b45309; font-weight: 700; }
  td.crosses-one strong { color: #b45309; } td.not-hardware strong { text-decoration: underline dotted; }
  table.calibration, table.dominance { width: auto; margin-top: 6px; } table.calibration td, table.dominance td { padding: 3px 14px; }
  ul.skipped li { margin: 2px 0; }
  footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
</style>
</head>
<body>
<h1>dmaheap bench</h1>
<p class="lead">The seed series’ dma-buf heap allocation benchmark: every heap side by side with the kernel’s system heap, in one run.</p>
<dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k!)}</dt><dd>${esc(v!)}</dd>`).join('')}</dl>
${banner}
${calibrationBlock(report)}
${
  has('seed')
    ? `<h2>Seed loop: allocate and close the same size</h2>
${figure('chart-seed', 'ns per allocate + close, per buffer size and heap (log scale; lower is faster)')}
<h2>Per-patch progression</h2>
${figure('chart-progression', 'the seed series one optimisation at a time (sgtable baseline → + higher orders → + page pool → + skip sync), as kernel heap time / this time at each size; above 1 is faster than the kernel heap')}
<p class="note">Kernel heap time / this heap’s time per allocate + close (above 1 is faster than the kernel heap), and the ns per call:</p>
<div class="table-wrap">${ratioTable(results, 'seed', report.calibration?.inflation)}</div>
<h2>Latency distribution</h2>
<p class="note">One allocate + close, timed on its own: median (p50), 99th percentile and the slowest call.</p>
<div class="grid">${seedSizes.map((s) => figure(`chart-latency-${s}`, `seed loop at ${formatSize(s)}: p50 / p99 / max (log scale)`)).join('')}</div>`
    : ''
}
${
  others.length
    ? `<h2>Beyond the seed loop</h2>
${notes.length ? `<ul class="note">${notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
<div class="grid">${others.map((s) => figure(`chart-${s}`, `${s}: ${SCENARIO_TITLES[s]} (ns per call, log scale)`)).join('')}</div>`
    : ''
}
<h2>All results</h2>
<div class="table-wrap">${resultsTable(results, report.calibration?.inflation)}</div>
${
  report.skipped.length
    ? `<h2>Skipped here</h2><ul class="skipped">${report.skipped.map((s) => `<li><strong>${esc(s.label)}</strong> (<code>${esc(s.variant)}</code>): ${esc(s.reason)}</li>`).join('')}</ul>`
    : ''
}
${
  report.failures?.length
    ? `<h2>Runs that failed</h2><ul class="skipped">${report.failures.map((f) => `<li><strong>${esc(f.scenario)}</strong> <code>${esc(f.variant)}</code> at ${esc(formatSize(f.size))}: ${esc(f.error)}</li>`).join('')}</ul>`
    : ''
}
<footer>Format ${esc(report.format)}; the data is embedded in this file (<code>#bench-data</code>). Charts by Chart.js ${esc(version)} (MIT licence), inlined.</footer>
<script type="application/json" id="bench-data">${scriptJson(report)}</script>
<script>${chartJs}</script>
<script>
window.benchCharts = (${drawCharts.toString()})(JSON.parse(document.getElementById('bench-data').textContent), Chart, document);
</script>
</body>
</html>
`;
}
