// The report page's own script: draws every chart from the report's JSON with Chart.js. It runs in the browser:
// html.ts inlines `drawCharts.toString()`, so the function must refer to nothing outside itself (only its
// parameters and the browser's globals), and uses only type imports.
import type { Result } from './measure.js';
import type { BenchReport } from './report.js';

/** The little of a Chart.js chart the page and its test use. */
export interface ChartLike {
  data: { labels: string[]; datasets: Array<{ label: string; data: Array<number | null>; dmaheap: DatasetTag }> };
}
/**
 * What a dataset shows, so that a test can check its numbers against the JSON: point i is `stat` of the result
 * of `scenario` for `variant` (or `categories[i]`) at `size` (or `categories[i]`).
 */
export interface DatasetTag {
  scenario: string;
  stat: 'nsPerCall' | 'ratioToKernel' | 'p50' | 'p99' | 'max';
  variant?: string;
  size?: number;
  /** Along the category axis: variant ids or sizes. */
  categories: Array<string | number>;
}
export type ChartConstructor = new (canvas: unknown, config: unknown) => ChartLike;
/** The DOM calls the script makes (declared here: the package compiles without the DOM library). */
export interface PageDocument {
  getElementById(id: string): unknown;
}

/** Draws the charts into the page's canvases (`chart-…` ids, made by html.ts). Returns the chart ids drawn. */
export function drawCharts(report: BenchReport, Chart: ChartConstructor, doc: PageDocument): string[] {
  const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22', '#393b79', '#ad494a', '#637939'];
  const SIZE_PALETTE = ['#9ecae1', '#4292c6', '#2171b5', '#08519c', '#08306b', '#6baed6', '#c6dbef'];
  const STAT_COLORS: Record<string, string> = { p50: '#4292c6', p99: '#fd8d3c', max: '#d62728' };
  const PROGRESSION = ['kernel', 'sgtable', 'orders', 'pagepool', 'skipsync'];
  const STEP_NAMES: Record<string, string> = {
    kernel: 'kernel system heap',
    sgtable: 'sgtable baseline',
    orders: '+ higher orders',
    pagepool: '+ page pool',
    skipsync: '+ skip sync',
  };
  // Chart labels: the JSON's labels are long for an axis.
  const SHORT: Record<string, string> = {
    kernel: 'kernel heap',
    'kernel-c': 'kernel heap, C loop',
    sgtable: 'sgtable baseline',
    orders: '+ higher orders',
    pagepool: '+ page pool',
    skipsync: '+ skip sync = systemHeap()',
    'system-cold': 'systemHeap(), pool cold',
    'pool-kernel': 'bufferPool(kernel heap)',
    'pool-system': 'bufferPool(systemHeap())',
    'udmabuf-fresh': 'udmabuf, fresh memfd',
    cma: 'kernel CMA heap',
    'cma-heap': 'cmaHeap()',
    'pool-cma': 'bufferPool(cmaHeap())',
  };
  const results = report.results;
  const variantIds: string[] = [];
  for (const r of results) if (!variantIds.includes(r.variant)) variantIds.push(r.variant);
  const colorOf = (variant: string) => PALETTE[variantIds.indexOf(variant) % PALETTE.length]!;
  const labelOf = (variant: string) => {
    const r = results.find((x) => x.variant === variant);
    const name = SHORT[variant] ?? r?.label ?? variant;
    return r?.kernel ? `${name} [${r.kernel}]` : name; // measured in a second boot, on another kernel
  };

  const formatSize = (bytes: number): string => {
    for (const [u, n] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
      if (bytes >= n && bytes % n === 0) return `${bytes / n} ${u}`;
    }
    return bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MiB` : `${bytes} B`;
  };
  const formatNs = (ns: number): string => {
    if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
    if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
    return `${Math.round(ns)} ns`;
  };
  const find = (scenario: string, variant: string, size: number): Result | undefined =>
    results.find((r) => r.scenario === scenario && r.variant === variant && r.size === size);
  const sizesOf = (scenario: string) => [...new Set(results.filter((r) => r.scenario === scenario).map((r) => r.size))].sort((a, b) => a - b);
  const variantsOf = (scenario: string) => variantIds.filter((v) => results.some((r) => r.scenario === scenario && r.variant === v));

  // Log-axis ticks: labels at powers of ten only (or at 1, 2, 5 × 10^n when the axis spans less than two of them).
  const tickNs = (ns: number): string => {
    const [unit, div] = ns >= 1e9 ? ['s', 1e9] : ns >= 1e6 ? ['ms', 1e6] : ns >= 1e3 ? ['µs', 1e3] : ['ns', 1];
    return `${Number((ns / (div as number)).toPrecision(3))} ${unit}`;
  };
  const mantissa = (v: number) => Math.round(v / 10 ** Math.floor(Math.log10(v) + 1e-9));
  const isPow10 = (v: number) => v > 0 && Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9;
  const nsAxis = (title: string) => ({
    type: 'logarithmic',
    title: { display: true, text: title },
    ticks: {
      maxRotation: 0,
      autoSkip: false,
      callback: (value: number | string, _index: number, ticks: Array<{ value: number }>) => {
        const v = Number(value);
        if (ticks.filter((t) => isPow10(t.value)).length >= 2) return isPow10(v) ? tickNs(v) : '';
        return [1, 2, 5].includes(mantissa(v)) ? tickNs(v) : '';
      },
    },
  });
  const nsTooltip = {
    callbacks: {
      label: (item: { dataset: { label?: string }; raw: unknown }) => `${item.dataset.label ?? ''}: ${formatNs(Number(item.raw))}`,
    },
  };
  const drawn: string[] = [];
  const draw = (id: string, config: Record<string, unknown>) => {
    const canvas = doc.getElementById(id);
    if (!canvas) return;
    const options = (config['options'] ?? {}) as Record<string, unknown>;
    config['options'] = { animation: false, responsive: true, maintainAspectRatio: false, ...options };
    new Chart(canvas, config);
    drawn.push(id);
  };

  // ns/call per size per heap, the seed loop, on a log scale.
  const seedSizes = sizesOf('seed');
  draw('chart-seed', {
    type: 'line',
    data: {
      labels: seedSizes.map(formatSize),
      datasets: variantsOf('seed').map((v) => ({
        label: labelOf(v),
        data: seedSizes.map((s) => find('seed', v, s)?.nsPerCall ?? null),
        borderColor: colorOf(v),
        backgroundColor: colorOf(v),
        borderDash: v === 'kernel-c' || v === 'udmabuf-fresh' ? [6, 4] : [],
        borderWidth: v === 'kernel' ? 3 : 2,
        spanGaps: true,
        dmaheap: { scenario: 'seed', stat: 'nsPerCall', variant: v, categories: seedSizes } satisfies DatasetTag,
      })),
    },
    options: {
      scales: { x: { title: { display: true, text: 'buffer size' } }, y: nsAxis('ns per allocate + close (log)') },
      plugins: { tooltip: nsTooltip, legend: { position: 'right' } },
    },
  });

  // The seed series' per-patch chart: each optimisation added in turn, as a ratio to the kernel heap.
  const steps = PROGRESSION.filter((v) => results.some((r) => r.scenario === 'seed' && r.variant === v));
  draw('chart-progression', {
    type: 'bar',
    data: {
      labels: steps.map((v) => STEP_NAMES[v] ?? v),
      datasets: seedSizes.map((s, i) => ({
        label: formatSize(s),
        data: steps.map((v) => find('seed', v, s)?.ratioToKernel ?? null),
        backgroundColor: SIZE_PALETTE[i % SIZE_PALETTE.length],
        dmaheap: { scenario: 'seed', stat: 'ratioToKernel', size: s, categories: steps } satisfies DatasetTag,
      })),
    },
    options: {
      scales: { y: { type: 'linear', beginAtZero: true, title: { display: true, text: 'kernel heap time / this time (higher is faster; kernel = 1)' } } },
      plugins: {
        tooltip: { callbacks: { label: (item: { dataset: { label?: string }; raw: unknown }) => `${item.dataset.label ?? ''}: ×${Number(item.raw).toFixed(2)}` } },
      },
    },
  });

  // Latency distributions: p50 / p99 / max of one call, per heap, one chart per size.
  for (const s of seedSizes) {
    const vs = variantsOf('seed').filter((v) => find('seed', v, s)?.call);
    const id = `chart-latency-${s}`;
    draw(id, {
      type: 'bar',
      data: {
        labels: vs.map(labelOf),
        datasets: (['p50', 'p99', 'max'] as const).map((stat) => ({
          label: stat,
          data: vs.map((v) => find('seed', v, s)?.call?.[stat] ?? null),
          backgroundColor: STAT_COLORS[stat],
          dmaheap: { scenario: 'seed', stat, size: s, categories: vs } satisfies DatasetTag,
        })),
      },
      options: {
        indexAxis: 'y',
        scales: { x: nsAxis(`one allocate + close at ${formatSize(s)} (log)`), y: { ticks: { autoSkip: false } } },
        plugins: {
          tooltip: {
            callbacks: { label: (item: { dataset: { label?: string }; raw: unknown }) => `${item.dataset.label ?? ''}: ${formatNs(Number(item.raw))}` },
          },
        },
      },
    });
  }

  // Every other scenario: ns/call per heap, a bar per size. The two sync charts share one axis range.
  const others = ['mix', 'touch', 'sync-private', 'sync-shared', 'workers', 'pressure', 'share'];
  const syncValues = results.filter((r) => r.scenario.startsWith('sync-')).map((r) => r.nsPerCall);
  for (const scenario of others) {
    const vs = variantsOf(scenario);
    if (!vs.length) continue;
    const id = `chart-${scenario}`;
    const axis: Record<string, unknown> = nsAxis('ns per call (log)');
    if (scenario.startsWith('sync-') && syncValues.length) {
      axis['min'] = 10 ** Math.floor(Math.log10(Math.min(...syncValues)));
      axis['max'] = 10 ** Math.ceil(Math.log10(Math.max(...syncValues)));
    }
    draw(id, {
      type: 'bar',
      data: {
        labels: vs.map(labelOf),
        datasets: sizesOf(scenario).map((s, i) => ({
          label: scenario === 'mix' ? `mix (mean ${formatSize(s)})` : formatSize(s),
          data: vs.map((v) => find(scenario, v, s)?.nsPerCall ?? null),
          backgroundColor: SIZE_PALETTE[i % SIZE_PALETTE.length],
          dmaheap: { scenario, stat: 'nsPerCall', size: s, categories: vs } satisfies DatasetTag,
        })),
      },
      options: {
        indexAxis: 'y',
        scales: { x: axis, y: { ticks: { autoSkip: false } } },
        plugins: { tooltip: nsTooltip },
      },
    });
  }
  return drawn;
}
