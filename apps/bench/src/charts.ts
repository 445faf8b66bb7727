// The report's charts: what each shows, built here from the JSON (chartSpecs), and their drawing in the page
// (drawCharts). html.ts inlines `drawCharts.toString()`, so that function must refer to nothing outside itself.
import { formatSize, SCENARIO_ORDER, SCENARIO_TITLES, sizeText } from './report.js';
import type { BenchReport, Result } from './types.js';

/**
 * What a dataset shows, so that a test can check its numbers against the JSON: point i is `stat` of the result of
 * `scenario` for `variant` (or `categories[i]`) at `size` (or `categories[i]`).
 */
export interface DatasetTag {
  scenario: string;
  stat: 'nsPerCall' | 'ratioToKernel' | 'p50' | 'p99' | 'max';
  variant?: string;
  size?: number;
  categories: Array<string | number>;
}
export interface Dataset { label: string; data: Array<number | null>; backgroundColor: string; dmaheap: DatasetTag; [style: string]: unknown }
/** A chart: line or bars (across when `across`), its value axis ns on a log scale or a ratio from 0 (`title`), sync charts with one range; its caption. */
export interface ChartSpec {
  id: string; caption: string; type: 'line' | 'bar'; value: 'ns' | 'ratio'; title: string; across?: boolean; range?: [number, number];
  labels: string[]; datasets: Dataset[];
}
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22', '#393b79', '#ad494a', '#637939'];
const SIZE_PALETTE = ['#9ecae1', '#4292c6', '#2171b5', '#08519c', '#08306b', '#6baed6', '#c6dbef'];
const STAT_COLORS = { p50: '#4292c6', p99: '#fd8d3c', max: '#d62728' };
/** The seed series one optimisation at a time, with the kernel heap (= 1) first. */
const STEPS: Record<string, string> = { kernel: 'kernel system heap', sgtable: 'sgtable baseline', orders: '+ higher orders', pagepool: '+ page pool', skipsync: '+ skip sync' };
// Chart labels: the JSON's labels are long for an axis.
const SHORT: Record<string, string> = {
  kernel: 'kernel heap', 'kernel-c': 'kernel heap, C loop', sgtable: 'sgtable baseline', orders: '+ higher orders', pagepool: '+ page pool',
  skipsync: '+ skip sync = systemHeap()', 'system-cold': 'systemHeap(), pool cold', 'pool-kernel': 'bufferPool(kernel heap)', 'pool-system': 'bufferPool(systemHeap())',
  'udmabuf-fresh': 'udmabuf, fresh memfd', cma: 'kernel CMA heap', 'cma-heap': 'cmaHeap()', 'pool-cma': 'bufferPool(cmaHeap())',
};

/** Every chart of the report, in the order drawn: the seed loop's ns/call and per-patch ratios, its latencies per size, then one per other scenario. */
export function chartSpecs(report: Pick<BenchReport, 'results'>): ChartSpec[] {
  const results = report.results;
  const ids = [...new Set(results.map((r) => r.variant))];
  const find = (scenario: string, variant: string, size: number): Result | undefined => results.find((r) => r.scenario === scenario && r.variant === variant && r.size === size);
  const sizesOf = (scenario: string) => [...new Set(results.filter((r) => r.scenario === scenario).map((r) => r.size))].sort((a, b) => a - b);
  const variantsOf = (scenario: string) => ids.filter((v) => results.some((r) => r.scenario === scenario && r.variant === v));
  const labelOf = (v: string) => {
    const r = results.find((x) => x.variant === v)!;
    return `${SHORT[v] ?? r.label}${r.kernel ? ` [${r.kernel}]` : ''}`; // measured in a second boot, on another kernel
  };
  const seedSizes = sizesOf('seed');
  const steps = Object.keys(STEPS).filter((v) => variantsOf('seed').includes(v));
  const bySize = (scenario: string, vs: string[], stat: 'nsPerCall' | 'ratioToKernel') => (s: number, i: number): Dataset => ({
    label: sizeText(scenario as Result['scenario'], s),
    data: vs.map((v) => find(scenario, v, s)?.[stat] ?? null),
    backgroundColor: SIZE_PALETTE[i % SIZE_PALETTE.length]!,
    dmaheap: { scenario, stat, size: s, categories: vs },
  });
  const sync = results.filter((r) => r.scenario.startsWith('sync-')).map((r) => r.nsPerCall);
  const syncRange: [number, number] = [10 ** Math.floor(Math.log10(Math.min(...sync))), 10 ** Math.ceil(Math.log10(Math.max(...sync)))];
  return [
    {
      id: 'chart-seed', caption: 'ns per allocate + close, per buffer size and heap (log scale; lower is faster)', type: 'line', value: 'ns', title: 'ns per allocate + close (log)', labels: seedSizes.map(formatSize),
      datasets: variantsOf('seed').map((v) => ({
        label: labelOf(v), data: seedSizes.map((s) => find('seed', v, s)?.nsPerCall ?? null),
        borderColor: PALETTE[ids.indexOf(v) % PALETTE.length], backgroundColor: PALETTE[ids.indexOf(v) % PALETTE.length]!,
        borderDash: v === 'kernel-c' || v === 'udmabuf-fresh' ? [6, 4] : [], borderWidth: v === 'kernel' ? 3 : 2, spanGaps: true,
        dmaheap: { scenario: 'seed', stat: 'nsPerCall', variant: v, categories: seedSizes },
      })),
    },
    {
      id: 'chart-progression', type: 'bar', value: 'ratio',
      caption: 'the seed series one optimisation at a time (sgtable baseline → + higher orders → + page pool → + skip sync), as kernel heap time / this time at each size; above 1 is faster than the kernel heap', title: 'kernel heap time / this time (higher is faster; kernel = 1)', labels: steps.map((v) => STEPS[v]!), datasets: seedSizes.map(bySize('seed', steps, 'ratioToKernel')),
    },
    ...seedSizes.map((s): ChartSpec => {
      const vs = variantsOf('seed').filter((v) => find('seed', v, s)?.call);
      const data = (stat: 'p50' | 'p99' | 'max') => vs.map((v) => find('seed', v, s)?.call?.[stat] ?? null);
      return {
        id: `chart-latency-${s}`, caption: `seed loop at ${formatSize(s)}: p50 / p99 / max (log scale)`, type: 'bar', value: 'ns', across: true, title: `one allocate + close at ${formatSize(s)} (log)`, labels: vs.map(labelOf),
        datasets: (['p50', 'p99', 'max'] as const).map((stat) => ({ label: stat, data: data(stat), backgroundColor: STAT_COLORS[stat], dmaheap: { scenario: 'seed', stat, size: s, categories: vs } })),
      };
    }),
    ...SCENARIO_ORDER.slice(1).filter((s) => variantsOf(s).length).map((s): ChartSpec => ({
      id: `chart-${s}`, caption: `${s}: ${SCENARIO_TITLES[s]} (ns per call, log scale)`, type: 'bar', value: 'ns', across: true, title: 'ns per call (log)', labels: variantsOf(s).map(labelOf),
      ...(s.startsWith('sync-') ? { range: syncRange } : {}), datasets: sizesOf(s).map(bySize(s, variantsOf(s), 'nsPerCall')),
    })),
  ];
}

/** The little of Chart.js the page and its test use. */
export type ChartConstructor = new (canvas: unknown, config: unknown) => unknown;
/** The DOM call the script makes (declared here: the package compiles without the DOM library). */
export interface PageDocument { getElementById(id: string): unknown }

/** Draws each chart into its canvas (made by html.ts), with ticks and tooltips in ns on log axes. Returns the ids drawn. */
export function drawCharts(specs: ChartSpec[], Chart: ChartConstructor, doc: PageDocument, formatNs: (ns: number) => string): string[] {
  const tickNs = (ns: number) => {
    const [unit, div] = ns >= 1e9 ? ['s', 1e9] : ns >= 1e6 ? ['ms', 1e6] : ns >= 1e3 ? ['µs', 1e3] : ['ns', 1];
    return `${Number((ns / (div as number)).toPrecision(3))} ${unit}`;
  };
  const isPow10 = (v: number) => v > 0 && Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9;
  const mantissa = (v: number) => Math.round(v / 10 ** Math.floor(Math.log10(v) + 1e-9));
  // Log-axis labels at powers of ten only (or at 1, 2, 5 × 10^n when the axis spans less than two of them).
  const callback = (value: number | string, _i: number, ticks: Array<{ value: number }>) => {
    const v = Number(value);
    if (ticks.filter((t) => isPow10(t.value)).length >= 2) return isPow10(v) ? tickNs(v) : '';
    return [1, 2, 5].includes(mantissa(v)) ? tickNs(v) : '';
  };
  type Item = { dataset: { label?: string }; raw: unknown };
  return specs.flatMap((s) => {
    const canvas = doc.getElementById(s.id);
    if (!canvas) return [];
    const title = { display: true, text: s.title };
    const value = s.value === 'ns'
      ? { type: 'logarithmic', title, ticks: { maxRotation: 0, autoSkip: false, callback }, ...(s.range ? { min: s.range[0], max: s.range[1] } : {}) }
      : { type: 'linear', beginAtZero: true, title };
    const label = (item: Item) => `${item.dataset.label ?? ''}: ${s.value === 'ns' ? formatNs(Number(item.raw)) : `×${Number(item.raw).toFixed(2)}`}`;
    const scales = s.across ? { x: value, y: { ticks: { autoSkip: false } } } : { x: s.type === 'line' ? { title: { display: true, text: 'buffer size' } } : {}, y: value };
    const plugins = { tooltip: { callbacks: { label } }, ...(s.type === 'line' ? { legend: { position: 'right' } } : {}) };
    const options = { animation: false, responsive: true, maintainAspectRatio: false, ...(s.across ? { indexAxis: 'y' } : {}), scales, plugins };
    new Chart(canvas, { type: s.type, data: { labels: s.labels, datasets: s.datasets }, options });
    return [s.id];
  });
}
