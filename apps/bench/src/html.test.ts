// The HTML report in headless Chromium (Debian's `chromium`, driven by playwright-core): it renders offline,
// every chart holds the numbers of the JSON it was made from, and the page logs no error. The JSON is a real
// result of `node scripts/bench.mjs --quick --sizes 4K,1M` in the VM (src/fixtures/vm-merged.json): the stock
// kernel's boot with the CMA kernel's boot merged in, each result (and skipped heap, and merged boot) on one line:
//   node -e 'const r = require("./bench-results/bench.json"), j = JSON.stringify; console.log(`{\n${Object.entries(r).map(([k, v]) =>
//     Array.isArray(v) && typeof v[0] === "object" ? `  ${j(k)}: [\n${v.map((x) => `    ${j(x)}`).join(",\n")}\n  ]` : `  ${j(k)}: ${j(v)}`).join(",\n")}\n}`)' \
//     > apps/bench/src/fixtures/vm-merged.json
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetTag } from './charts.js';
import { renderHtml } from './html.js';
import { calibrationRows, COST_NAMES, formatRatio, formatShares, formatSize } from './report.js';
import type { BenchReport, Result } from './types.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const root = join(import.meta.dirname, '..', '..', '..');
const report = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'vm-merged.json'), 'utf8')) as BenchReport;

interface ChartDump {
  type: string;
  valueScale: string | undefined;
  labels: string[];
  datasets: Array<{ label: string; data: Array<number | null>; tag: DatasetTag }>;
}

let work: string;
let context: BrowserContext;
let page: Page;
let htmlUrl: string;
const problems: string[] = [];
const requests: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (scripts/bootstrap.sh does)`);
  work = mkdtempSync(join(tmpdir(), 'dmaheap-bench-html-'));
  const html = join(work, 'bench.html');
  writeFileSync(html, renderHtml(report));
  htmlUrl = pathToFileURL(html).href;
  context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(htmlUrl, { waitUntil: 'load' });
}, 60_000);

afterAll(async () => {
  await context?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function find(scenario: string, variant: string, size: number): Result | undefined {
  return report.results.find((r) => r.scenario === scenario && r.variant === variant && r.size === size);
}

function expected(tag: DatasetTag, category: string | number): number | null {
  const variant = tag.variant ?? (category as string);
  const size = tag.size ?? (category as number);
  const r = find(tag.scenario, variant, size);
  if (!r) return null;
  if (tag.stat === 'nsPerCall') return r.nsPerCall;
  if (tag.stat === 'ratioToKernel') return r.ratioToKernel ?? null;
  return r.call?.[tag.stat] ?? null;
}

/** What the page's Chart.js chart objects hold (read back with `Chart.getChart`). */
interface PageChart {
  config: { type: string };
  options: { indexAxis?: string; scales: Record<string, { type: string } | undefined> };
  data: { labels: string[]; datasets: Array<{ label: string; data: Array<number | null>; dmaheap: DatasetTag }> };
}

async function charts(): Promise<Record<string, ChartDump>> {
  return page.evaluate(() => {
    const w = globalThis as unknown as { benchCharts: string[]; Chart: { getChart(id: string): PageChart } };
    const out: Record<string, ChartDump> = {};
    for (const id of w.benchCharts) {
      const c = w.Chart.getChart(id);
      out[id] = {
        type: c.config.type,
        valueScale: c.options.scales[c.options.indexAxis === 'y' ? 'x' : 'y']?.type,
        labels: [...c.data.labels],
        datasets: c.data.datasets.map((d) => ({ label: d.label, data: [...d.data], tag: d.dmaheap })),
      };
    }
    return out;
  });
}

describe('the HTML report in headless Chromium', { timeout: 60_000 }, () => {
  it('renders the machine, the emulation warning and every chart, offline', async () => {
    expect(await page.title()).toContain('dmaheap bench');
    const facts = await page.locator('dl.facts').innerText();
    expect(facts).toContain(report.machine.kernel);
    expect(facts).toContain(report.machine.node);
    expect(report.machine.emulated).toBe(true);
    expect(await page.locator('.banner').innerText()).toContain('ratios, not absolute speeds');

    const sizes = report.options.sizes;
    const drawn = await page.evaluate(() => (globalThis as unknown as { benchCharts: string[] }).benchCharts);
    expect(drawn).toEqual([
      'chart-seed',
      'chart-progression',
      ...sizes.map((s) => `chart-latency-${s}`),
      'chart-mix',
      'chart-touch',
      'chart-sync-private',
      'chart-sync-shared',
      'chart-workers',
      'chart-pressure',
      ...(report.results.some((r) => r.scenario === 'share') ? ['chart-share'] : []),
    ]);
    for (const id of drawn) {
      const box = await page.locator(`#${id}`).boundingBox();
      expect(box?.width, id).toBeGreaterThan(300);
      expect(box?.height, id).toBeGreaterThan(200);
    }
    // Nothing but the file itself was asked for: Chart.js and the data are inlined.
    expect(requests).toEqual([htmlUrl]);
    // The CMA heaps came from the second boot: charted, not listed as skipped, and the boot named.
    expect(report.mergedRuns?.[0]?.variants).toEqual(['cma', 'cma-heap', 'pool-cma']);
    expect(await page.locator('ul.skipped').count()).toBe(0);
    expect(await page.locator('dl.facts').innerText()).toContain(`second boot\nLinux ${report.mergedRuns![0]!.machine.kernel}`);
  });

  it('draws ns/call per size per heap on a log scale, from the JSON', async () => {
    const seed = (await charts())['chart-seed']!;
    expect(seed.type).toBe('line');
    expect(seed.valueScale).toBe('logarithmic');
    expect(seed.labels).toEqual(report.options.sizes.map(formatSize));
    expect(seed.labels).toEqual(['4 KiB', '1 MiB']);
    const variants = [...new Set(report.results.filter((r) => r.scenario === 'seed').map((r) => r.variant))];
    expect(seed.datasets.map((d) => d.tag.variant)).toEqual(variants);
    const kernel = seed.datasets.find((d) => d.tag.variant === 'kernel')!;
    expect(kernel.data).toEqual(report.options.sizes.map((s) => find('seed', 'kernel', s)!.nsPerCall));
    // A heap from the second boot says which kernel it ran on.
    expect(seed.datasets.find((d) => d.tag.variant === 'cma-heap')!.label).toBe(`cmaHeap() [${report.mergedRuns![0]!.machine.kernel}]`);
  });

  it('draws the per-patch progression as ratios to the kernel heap', async () => {
    const p = (await charts())['chart-progression']!;
    expect(p.labels).toEqual(['kernel system heap', 'sgtable baseline', '+ higher orders', '+ page pool', '+ skip sync']);
    expect(p.datasets.map((d) => d.tag.size)).toEqual(report.options.sizes);
    for (const d of p.datasets) {
      expect(d.data[0]).toBe(1);
      expect(d.data).toEqual(['kernel', 'sgtable', 'orders', 'pagepool', 'skipsync'].map((v) => find('seed', v, d.tag.size!)!.ratioToKernel));
    }
  });

  it('every number in every chart is the JSON’s, and every result is charted', async () => {
    const all = await charts();
    const charted = new Set<string>();
    let points = 0;
    for (const [id, chart] of Object.entries(all)) {
      expect(chart.datasets.length, id).toBeGreaterThan(0);
      for (const d of chart.datasets) {
        expect(d.data.length, `${id} ${d.label}`).toBe(d.tag.categories.length);
        d.data.forEach((value, i) => {
          const category = d.tag.categories[i]!;
          expect(value, `${id} ${d.label} at ${category}`).toBe(expected(d.tag, category));
          if (value !== null) points++;
          if (d.tag.stat === 'nsPerCall') charted.add(`${d.tag.scenario} ${d.tag.variant ?? category} ${d.tag.size ?? category}`);
        });
      }
    }
    expect(points).toBeGreaterThan(report.results.length);
    expect([...charted].sort()).toEqual(report.results.map((r) => `${r.scenario} ${r.variant} ${r.size}`).sort());
    // Latency distributions: p50 / p99 / max per heap, at each size.
    const latency = all[`chart-latency-${report.options.sizes[0]}`]!;
    expect(latency.datasets.map((d) => d.label)).toEqual(['p50', 'p99', 'max']);
    expect(latency.valueScale).toBe('logarithmic');
  });

  it('leads with the seed loop (its ratios, its chart, the per-patch bars), the calibration after it', async () => {
    const order = await page.locator('h2, table.ratios, canvas').evaluateAll((els) => els.map((e) => e.id || e.className || e.textContent));
    expect(order.slice(0, 6)).toEqual([
      'Seed loop: allocate and close the same size',
      'ratios',
      'chart-seed',
      'Per-patch progression',
      'chart-progression',
      'Calibration',
    ]);
  });

  it('shows the calibration block: each figure here and on the host with the factor, and what the kernel heap’s seed call is made of', async () => {
    const cal = report.calibration;
    expect(cal.host).toBeDefined(); // the fixture is a VM run: the host was measured by scripts/bench.mjs
    const block = page.locator('#calibration');
    expect(await block.locator('h2').innerText()).toBe('Calibration');
    const cells = (table: string) => block.locator(`table.${table} tbody tr`).evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    const rows = await cells('calibration');
    expect(rows).toEqual(calibrationRows(cal).map((r) => [r.what, r.here, r.host, r.factor]));
    expect(rows.map((r) => r[0])).toEqual([
      expect.stringMatching(/^zeroing in userspace/),
      expect.stringMatching(/^kernel allocating \+ zeroing pages/),
      expect.stringMatching(/^system call through the addon/),
      expect.stringMatching(/^system call in C/),
      expect.stringMatching(/^JavaScript call/),
      expect.stringMatching(/^object allocation/),
    ]);
    for (const r of rows) expect(r[3], r[0]!).toMatch(/^×\d/);
    expect(await block.locator('table.calibration thead').innerText()).toContain(`here: the guest (Linux ${cal.here.kernel}, emulated)`);
    expect(await cells('dominance')).toEqual(cal.dominance.map((d) => [formatSize(d.size), COST_NAMES[d.dominant], formatShares(d.shares)]));
    expect(cal.dominance.map((d) => d.size)).toEqual(report.options.sizes);
  });

  it('gives each seed ratio its spread over the rounds, and flags spreads across 1', async () => {
    const seed = report.results.filter((r) => r.scenario === 'seed' && r.variant !== 'kernel' && r.kernel === undefined);
    expect(seed.every((r) => r.ratioSpread && r.rounds?.length === report.options.rounds!.rounds)).toBe(true);
    const cells = await page.locator('table.ratios td[data-variant]').evaluateAll((tds) =>
      tds.map((td) => ({ variant: td.getAttribute('data-variant'), size: Number(td.getAttribute('data-size')), text: td.textContent, classes: td.className })),
    );
    expect(cells).toHaveLength(report.results.filter((r) => r.scenario === 'seed').length);
    for (const r of seed) {
      const c = cells.find((x) => x.variant === r.variant && x.size === r.size)!;
      expect(c.text, `${r.variant} ${r.size}`).toContain(`${formatRatio(r.ratioToKernel!)} [${formatRatio(r.ratioSpread!.min).slice(1)}–${formatRatio(r.ratioSpread!.max).slice(1)}]`);
      expect(c.classes.includes('crosses-one'), `${r.variant} ${r.size}`).toBe(r.ratioCrossesOne === true);
      expect(c.text!.includes('?'), `${r.variant} ${r.size}`).toBe(r.ratioCrossesOne === true);
    }
    expect(seed.some((r) => r.ratioCrossesOne)).toBe(true); // the fixture has both kinds
    expect(seed.some((r) => !r.ratioCrossesOne)).toBe(true);
    expect(await page.locator('table.ratios + ul.legend').innerText()).toMatch(/least and greatest of the per-round ratios[^]*spread crosses 1/);
  });

  it('logs no errors, and reads well (screenshot in test-results/bench-report.png)', async () => {
    await page.waitForTimeout(200);
    expect(problems).toEqual([]);
    const out = join(root, 'test-results', 'bench-report.png');
    mkdirSync(join(root, 'test-results'), { recursive: true });
    await page.screenshot({ path: out, fullPage: true });
    expect(statSync(out).size).toBeGreaterThan(50_000);
  });
});
