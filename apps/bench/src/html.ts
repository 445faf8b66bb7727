// The HTML report: one self-contained file (Chart.js, the data and the charts' script inlined) that opens offline.
// It leads with the seed loop (its ratios to the kernel heap, its chart, the per-patch bars), then the calibration,
// the latencies, the other scenarios and every result.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { chartSpecs, drawCharts, type ChartSpec } from './charts.js';
import { calibrationTable, COST_NAMES, DOMINANCE_NOTE, flagLegend, formatBytes, formatNs, formatRatio, formatShares, formatSize } from './report.js';
import { grid, pressureText, ratioText, resultLabel, SCENARIO_ORDER, sizeText, spreadText } from './report.js';
import type { BenchReport, Result } from './types.js';

/** Chart.js's browser build (UMD, minified, with its licence header), from the installed package. */
export function chartJsSource(): { source: string; version: string } {
  const dir = dirname(createRequire(import.meta.url).resolve('chart.js'));
  const { version } = JSON.parse(readFileSync(join(dir, '..', 'package.json'), 'utf8')) as { version: string };
  return { source: readFileSync(join(dir, 'chart.umd.min.js'), 'utf8'), version };
}

const esc = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON that is safe inside a <script> element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
/** A table of text, its head first: the columns from `num` on are figures, right-aligned. */
function table(cls: string, [head, ...rows]: string[][], num: number): string {
  const tr = (r: string[], t: string) => `<tr>${r.map((c, j) => `<${t}${j >= num ? ' class="num"' : ''}>${esc(c)}</${t}>`).join('')}</tr>`;
  return `<div class="table-wrap"><table class="${cls}"><thead>${tr(head!, 'th')}</thead><tbody>${rows.map((r) => tr(r, 'td')).join('')}</tbody></table></div>`;
}
const list = (cls: string, items: string[]) => (items.length ? `<ul class="${cls}">${items.map((i) => `<li>${i}</li>`).join('')}</ul>` : '');
const figure = ({ id, caption }: ChartSpec) =>
  `<figure><div class="chart"><canvas id="${id}" role="img" aria-label="${esc(caption)}"></canvas></div><figcaption>${esc(caption)}</figcaption></figure>`;

/** The seed loop's ratios to the kernel heap: a row per heap, a column per size, each with its spread over the rounds, `?` and its ns/call. */
function ratioTable(results: Result[]): string {
  const { sizes, rows } = grid(results, 'seed');
  const cell = (r: Result | undefined) => {
    if (!r) return '<td></td>';
    const spread = r.ratioSpread && r.variant !== 'kernel' ? ` <span class="spread">${esc(spreadText(r.ratioSpread))}</span>` : '';
    return `<td class="num${r.ratioCrossesOne ? ' crosses-one' : ''}" data-variant="${esc(r.variant)}" data-size="${r.size}"><strong>${r.ratioToKernel === undefined ? '' : esc(formatRatio(r.ratioToKernel))}</strong>${spread}${r.ratioCrossesOne ? ' <span class="flag">?</span>' : ''} <span class="ns">${esc(formatNs(r.nsPerCall))}</span></td>`;
  };
  const head = `<thead><tr><th>heap</th>${sizes.map((s) => `<th class="num">${esc(formatSize(s))}</th>`).join('')}</tr></thead>`;
  const body = rows.map((r) => `<tr><td>${esc(r.label)}</td>${r.cells.map(cell).join('')}</tr>`).join('');
  return `<div class="table-wrap"><table class="ratios">${head}<tbody>${body}</tbody></table>${list('note legend', flagLegend(results.filter((r) => r.scenario === 'seed')).map(esc))}</div>`;
}

/** The calibration block: the figures here and on the host with the factor, and what the kernel heap's seed call is made of. */
function calibrationBlock(report: BenchReport): string {
  const cal = report.calibration;
  const dominance = cal.dominance.map((d) => [formatSize(d.size), COST_NAMES[d.dominant], formatShares(d.shares)]);
  return `<section id="calibration"><h2>Calibration</h2>
<p class="note">What each kind of work costs where the benchmark ran${cal.host ? ', on the host, and how much slower it is here: under emulation a ratio between two heaps carries over to hardware only when what each spends its time on is slowed alike' : ''}.</p>
${table('calibration', calibrationTable(report), 1)}
${dominance.length ? `<p class="note">${esc(DOMINANCE_NOTE)}</p>${table('dominance', [['size', 'dominated by', 'shares of its time'], ...dominance], 0)}` : ''}
</section>`;
}

const CSS = `:root { color-scheme: light; --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; } p.lead, figcaption, .note, footer { color: var(--muted); } footer { margin-top: 32px; font-size: 12px; }
body { font: 14px/1.45 system-ui, "DejaVu Sans", sans-serif; color: var(--fg); margin: 0 auto; max-width: 1200px; padding: 20px 28px 48px; } h1 { font-size: 24px; margin: 0 0 8px; }
h2 { font-size: 18px; margin: 32px 0 4px; border-bottom: 1px solid var(--line); padding-bottom: 4px; } .banner { background: #fff4d6; border: 1px solid #f0c85a; border-radius: 6px; padding: 8px 12px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0 12px; } dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
figure { margin: 12px 0; } .chart { position: relative; height: 380px; } .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 8px 24px; } .grid .chart { height: 320px; }
table { border-collapse: collapse; font-size: 12.5px; width: 100%; } .table-wrap { overflow-x: auto; } th, td { border-bottom: 1px solid var(--line); padding: 3px 8px; text-align: left; white-space: nowrap; }
th { background: #f3f5f9; position: sticky; top: 0; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; } span.ns, span.spread { color: var(--muted); font-size: 11.5px; }
table.ratios, table.calibration, table.dominance { width: auto; margin-top: 6px; } table.ratios td, table.ratios th, table.calibration td, table.dominance td { padding: 3px 14px; }
span.flag, td.crosses-one strong { color: #b45309; font-weight: 700; }`;

export function renderHtml(report: BenchReport): string {
  const { source: chartJs, version } = chartJsSource();
  const { machine: m, options: o, results, scenarioInfo: info } = report;
  const specs = chartSpecs(report);
  const figures = (pick: RegExp) => specs.filter((c) => pick.test(c.id)).map(figure).join('');
  const others = figures(/^chart-(?!seed|progression|latency-)/);
  const facts = [
    ['kernel', `Linux ${m.kernel}`],
    ['Node', m.node],
    ['machine', `${m.cpus} × ${m.cpuModel}, ${formatBytes(m.memoryBytes)} memory${m.inVm ? ', in the VM test bed (QEMU)' : ''}`],
    ['emulated', m.emulated ? 'yes: software emulation (QEMU TCG)' : 'no'],
    ['run', `${report.date}; ${o.mode} run${o.rounds ? `; seed loop in ${o.rounds.rounds} interleaved rounds of up to ${o.rounds.roundMs} ms per heap, after a warm-up round` : ''}; other runs up to ${o.iterations} calls or ${o.maxMs / 1000} s`],
    ...(report.mergedRuns ?? []).map((run) => ['second boot', `Linux ${run.machine.kernel}, ${run.date}: ${run.variants.join(', ')} (rows marked [${run.machine.kernel}]; their ratios are to that boot’s own kernel heap)`]),
  ];
  const notes = [
    ...(info.mix ? [`mix: ${info.mix.pattern.map((b) => b.toLocaleString('en')).join(', ')} bytes in turn, ${info.mix.live} buffers alive at once`] : []),
    ...(results.some((r) => r.workers) ? [`workers: ${results.find((r) => r.workers)!.workers} worker threads, each with its own heap, started together`] : []),
    ...(info.pressure ? pressureText(info.pressure).map((l) => l.trim()) : []),
  ];
  const all = SCENARIO_ORDER.flatMap((s) => results.filter((r) => r.scenario === s)).map((r) => [
    r.scenario, resultLabel(r), sizeText(r.scenario, r.size), `${r.iterations}${r.iterations < r.requested ? ` of ${r.requested}` : ''}`, formatNs(r.nsPerCall), r.gbPerSec.toFixed(3),
    ...[r.call?.p50, r.call?.p99, r.call?.max, r.alloc?.p50, r.free?.p50].map((ns) => (ns === undefined ? '' : formatNs(ns))),
    r.rounds ? String(r.rounds.length) : '', ratioText(r), r.meanRatio ? ratioText({ ratioToKernel: r.meanRatio.median, ratioSpread: r.meanRatio }) : '',
  ]);
  const allHead = ['scenario', 'heap', 'size', 'calls', 'ns/call', 'GB/s', 'p50', 'p99', 'max', 'alloc p50', 'free p50', 'turns', 'vs kernel [spread]', 'from means'];
  const seed = results.some((r) => r.scenario === 'seed')
    ? `<h2>Seed loop: allocate and close the same size</h2>
<p class="note">Kernel heap time / this heap’s time per allocate + close (above 1 is faster than the kernel heap), and the ns per call:</p>
${ratioTable(results)}
${figures(/^chart-seed$/)}
<h2>Per-patch progression</h2>
${figures(/^chart-progression$/)}`
    : '';
  const latency = seed && `<h2>Latency distribution</h2><p class="note">One allocate + close, timed on its own: median (p50), 99th percentile and the slowest call.</p>
<div class="grid">${figures(/^chart-latency-/)}</div>`;
  const beyond = others && `<h2>Beyond the seed loop</h2>${list('note', notes.map(esc))}<div class="grid">${others}</div>`;
  const skipped = report.skipped.map((s) => `<strong>${esc(s.label)}</strong> (<code>${esc(s.variant)}</code>): ${esc(s.reason)}`);
  const failed = (report.failures ?? []).map((f) => `<strong>${esc(f.scenario)}</strong> <code>${esc(f.variant)}</code> at ${esc(formatSize(f.size))}: ${esc(f.error)}`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>dmaheap bench: ${esc(report.date)}</title>
<style>
${CSS}
</style></head>
<body>
<h1>dmaheap bench</h1>
<p class="lead">The seed series’ dma-buf heap allocation benchmark: every heap side by side with the kernel’s system heap, in one run.</p>
<dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k!)}</dt><dd>${esc(v!)}</dd>`).join('')}</dl>
${m.emulated ? '<p class="banner"><strong>Measured under software emulation: ratios, not absolute speeds.</strong> A JavaScript call costs microseconds under QEMU TCG while the kernel’s C runs comparatively fast, so read the ratios to the kernel heap, not the times.</p>' : ''}
${seed}
${calibrationBlock(report)}
${latency}
${beyond}
<h2>All results</h2>
${table('results', [allHead, ...all], 3)}
${skipped.length ? `<h2>Skipped here</h2>${list('skipped', skipped)}` : ''}
${failed.length ? `<h2>Runs that failed</h2>${list('skipped', failed)}` : ''}
<footer>Format ${esc(report.format)}; the data is embedded in this file (<code>#bench-data</code>). Charts by Chart.js ${esc(version)} (MIT licence), inlined.</footer>
<script type="application/json" id="bench-data">${scriptJson(report)}</script>
<script>${chartJs}</script>
<script>window.benchCharts = (${drawCharts.toString()})(${scriptJson(specs)}, Chart, document, ${formatNs.toString()});</script>
</body></html>
`;
}
