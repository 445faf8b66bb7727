import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { percentiles, seedLine, type Result } from './measure.js';
import { addRatios, formatBytes, formatNs, formatSize, mergeRuns, parseSize, table, type BenchReport } from './report.js';

const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'vm-quick.json'), 'utf8')) as BenchReport;

function result(variant: string, scenario: Result['scenario'], size: number, nsPerCall: number): Result {
  return { variant, label: variant, group: 'seed', scenario, size, requested: 10, iterations: 10, totalNs: nsPerCall * 10, nsPerCall, gbPerSec: 0 };
}

describe('sizes and times', () => {
  it('parses and formats sizes', () => {
    expect(['4K', '1M', '1.5M', '4096', '8MiB', '2G'].map(parseSize)).toEqual([4096, 2 ** 20, 1.5 * 2 ** 20, 4096, 8 * 2 ** 20, 2 * 2 ** 30]);
    expect(() => parseSize('lots')).toThrow(/not a size/);
    expect([4096, 1 << 20, 32 << 20, 3110400, 100].map(formatSize)).toEqual(['4 KiB', '1 MiB', '32 MiB', '3.0 MiB', '100 B']);
    expect([512, 1500, 2_500_000].map(formatNs)).toEqual(['512 ns', '1.5 µs', '2.50 ms']);
    expect([842_477_568, 3_121_430_528, 500_000].map(formatBytes)).toEqual(['803 MiB', '2.9 GiB', '488 KiB']);
  });

  it("prints the seed benchmark's line exactly", () => {
    const line = seedLine({ size: 1048576, iterations: 5000, totalNs: 1_550_000_000.4, nsPerCall: 310_000.2 });
    expect(line).toBe('dmabuf heap: alloc 1048576 bytes 5000 times in 1550000000 ns \t 310000 ns/call');
  });

  it('takes percentiles of the calls actually made', () => {
    const s = new Float64Array(200);
    for (let i = 0; i < 100; i++) s[i] = 100 - i; // 100..1, then 100 unused zeros
    expect(percentiles(s, 100)).toEqual({ p50: 51, p99: 100, max: 100 });
  });
});

describe('ratios to the kernel heap', () => {
  it('are kernel ns/call over this ns/call, within one scenario and size', () => {
    const rs = [
      result('kernel', 'seed', 4096, 100),
      result('skipsync', 'seed', 4096, 50),
      result('skipsync', 'seed', 8192, 50),
      result('kernel', 'touch', 4096, 400),
      result('skipsync', 'touch', 4096, 800),
    ];
    addRatios(rs);
    expect(rs.map((r) => r.ratioToKernel)).toEqual([1, 2, undefined, 1, 0.5]);
  });

  it("match the ones in a real run's JSON", () => {
    const copy = structuredClone(fixture.results);
    addRatios(copy);
    expect(copy.map((r) => r.ratioToKernel)).toEqual(fixture.results.map((r) => r.ratioToKernel));
  });
});

describe('a second boot merged in', () => {
  const cmaRun: BenchReport = {
    ...structuredClone(fixture),
    date: '2026-11-25T02:00:00.000Z',
    machine: { ...fixture.machine, kernel: '6.12.57-dmaheap-cma' },
    skipped: [],
    results: [result('kernel', 'seed', 4096, 90), result('cma-heap', 'seed', 4096, 180), result('pool-cma', 'seed', 4096, 30)],
  };
  addRatios(cmaRun.results);
  const merged = mergeRuns(fixture, cmaRun);

  it("adds the heaps the main run lacks, with their own run's ratios and kernel, and no second kernel heap", () => {
    const added = merged.results.slice(fixture.results.length);
    expect(added.map((r) => [r.variant, r.ratioToKernel, r.kernel])).toEqual([
      ['cma-heap', 0.5, '6.12.57-dmaheap-cma'],
      ['pool-cma', 3, '6.12.57-dmaheap-cma'],
    ]);
    expect(merged.results.slice(0, fixture.results.length)).toEqual(fixture.results);
    expect(merged.mergedRuns).toEqual([{ date: cmaRun.date, machine: cmaRun.machine, variants: ['cma-heap', 'pool-cma'] }]);
  });

  it('no longer lists those heaps as skipped, and names their kernel in the table', () => {
    expect(fixture.skipped.map((s) => s.variant)).toContain('cma-heap');
    expect(merged.skipped.map((s) => s.variant)).not.toContain('cma-heap');
    expect(merged.skipped.map((s) => s.variant)).not.toContain('pool-cma');
    expect(table(merged.results, 'seed')).toMatch(/^pool-cma \[6\.12\.57-dmaheap-cma\]\s+\S+ \S?s ×3\.00\s+-$/m);
  });
});

describe('the terminal table', () => {
  it('has a row per heap and a column per size, with ratios', () => {
    const t = table(fixture.results, 'seed').split('\n');
    expect(t[0]).toMatch(/^seed: .*higher is faster/);
    expect(t[1]).toMatch(/^heap\s+4 KiB\s+1 MiB$/);
    const heaps = new Set(fixture.results.filter((r) => r.scenario === 'seed').map((r) => r.label));
    expect(t.length).toBe(3 + heaps.size);
    expect(t[3]).toMatch(/^kernelHeap\('system'\)\s+\S+ \S?s\s+\S+ \S?s$/);
    expect(t[4]).toMatch(/×\d+\.\d\d/);
    expect(table(fixture.results, 'mix').split('\n')[1]).toMatch(/^heap\s+mix$/);
  });
});

describe('the JSON of a real run', () => {
  it('has the documented shape', () => {
    expect(fixture.format).toBe('dmaheap-bench/2');
    expect(Object.keys(fixture.machine).sort()).toEqual(['cpuModel', 'cpus', 'emulated', 'inVm', 'kernel', 'memoryBytes', 'node']);
    expect(new Set(fixture.results.map((r) => r.scenario))).toEqual(new Set(['seed', 'mix', 'touch', 'sync-private', 'sync-shared', 'workers', 'pressure']));
    for (const r of fixture.results) {
      expect(r.nsPerCall).toBeCloseTo(r.totalNs / r.iterations, 3);
      expect(r.iterations).toBeLessThanOrEqual(r.requested);
      expect(r.gbPerSec).toBeGreaterThan(0);
      if (r.scenario === 'workers') expect(r.workers).toBe(2);
    }
    expect(fixture.scenarioInfo.pressure!.heldBytes).toBeGreaterThan(fixture.scenarioInfo.pressure!.availableBefore / 2);
  });
});
