import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { percentiles, seedLine, type Result } from './measure.js';
import { parseDdSeconds } from './calibrate.js';
import { addRatios, calibrationText, formatBytes, formatNs, formatRatio, formatSize, mergeRuns, parseSize, pressureText, ratioText, table, type BenchReport } from './report.js';

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

  it("with the kernel's turns around each heap's: the ratio to those, not to the kernel's rounds at large", () => {
    const rs = [
      { ...result('kernel', 'seed', 4096, 100), rounds: [100, 100, 300, 300], roundMeans: [100, 100, 300, 300] },
      // the guest slowed down by three times in the second round: the ratio stays 2
      { ...result('skipsync', 'seed', 4096, 100), rounds: [50, 150], roundMeans: [50, 150], reference: { rounds: [100, 300], means: [100, 300] } },
    ];
    addRatios(rs);
    expect(rs[1]!.ratioRounds).toEqual([2, 2]);
    expect(rs[1]!.meanRatio).toEqual({ median: 2, min: 2, max: 2 });
    expect(rs[0]!.ratioToKernel).toBe(1);
    expect(rs[0]!.ratioSpread).toEqual({ min: 1, max: 1 });
  });

  it('with rounds: the median of per-round ratios, with the spread, flagged when it crosses 1', () => {
    const rs = [
      { ...result('kernel', 'seed', 4096, 100), rounds: [100, 120, 80, 100, 110] },
      { ...result('skipsync', 'seed', 4096, 100), rounds: [90, 130, 100, 80, 100] },
      { ...result('pool-system', 'seed', 4096, 40), rounds: [40, 40, 40, 50, 50] },
    ];
    addRatios(rs);
    expect(rs[1]!.ratioRounds!.map((x) => Number(x.toFixed(3)))).toEqual([1.111, 0.923, 0.8, 1.25, 1.1]);
    expect(rs[1]!.ratioToKernel).toBeCloseTo(1.1);
    expect(rs[1]!.ratioSpread).toEqual({ min: 0.8, max: 1.25 });
    expect(rs[1]!.ratioCrossesOne).toBe(true);
    expect(rs[2]!.ratioToKernel).toBeCloseTo(2.2); // of 2.5, 3, 2, 2, 2.2
    expect(rs[2]!.ratioCrossesOne).toBe(false);
    expect(ratioText(rs[1]!)).toBe('×1.10 [0.80–1.25]?');
    expect(ratioText({ ...rs[2]!, hardware: { heap: ['js'], kernel: ['syscalls'], low: 3, high: 3, holds: false } })).toBe('×2.20 [2.00–3.00]~');
    const t = table(rs, 'seed').split('\n');
    expect(t[4]).toMatch(/^skipsync\s+100 ns ×1\.10 \[0\.80–1\.25\]\?$/);
    expect(t.slice(6).join('\n')).toMatch(/×N \[a–b\]: the median and the least and greatest of the per-round ratios[^]*\?: the spread crosses 1/);
  });

  it('format ratios with three significant figures or more', () => {
    expect([0.923, 12.44, 2605.37].map(formatRatio)).toEqual(['×0.92', '×12.4', '×2605']);
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

describe('the calibration block', () => {
  const here = { kernel: '6.12.117+deb12-amd64', cpuModel: 'QEMU TCG', userZeroGBps: 0.2, kernelZeroGBps: 0.14, syscallNs: 9000, cSyscallNs: 8000, jsCallNs: 600, allocNs: 180, zeroBytes: 32 << 20 };
  const host = { ...here, kernel: '6.1.0-host', userZeroGBps: 40, kernelZeroGBps: 2.3, syscallNs: 3000, cSyscallNs: 1300, jsCallNs: 35, allocNs: 20 };
  const machine = { ...fixture.machine, inVm: true, emulated: true };

  it('lists each figure here and on the host with the factor, what dominates, and how many ratios hold', () => {
    const results = [
      { ...result('kernel', 'seed', 4096, 160), ratioToKernel: 1 },
      { ...result('pool-system', 'seed', 4096, 40), ratioToKernel: 4, hardware: { heap: ['js' as const], kernel: ['js' as const, 'syscalls' as const], low: 0.3, high: 1, holds: false } },
    ];
    const text = calibrationText({
      machine,
      results,
      calibration: { here, host, inflation: { 'kernel-zero': 16, 'user-zero': 200, syscalls: 6, js: 17 }, dominance: [{ scenario: 'seed', size: 4096, shares: { js: 0.75, syscalls: 0.25 }, dominant: 'js', measured: true }] },
    }).split('\n');
    expect(t0(text)).toMatch(/^calibration: what each kind of work costs here and on the host/);
    expect(text.find((l) => l.startsWith('zeroing in userspace'))).toMatch(/0\.200 GB\/s\s+40\.0 GB\/s\s+×200$/);
    expect(text.find((l) => l.startsWith('JavaScript call'))).toMatch(/600 ns\s+35\.0 ns\s+×17$/);
    expect(text).toContain('  seed           4 KiB  dominated by JavaScript: JavaScript 75%, system calls 25%');
    expect(text).toContain('  seed: 0 of 1 ratios hold; 1 are distorted by emulation (marked ~)');
  });

  it('says so when the host was not measured, or there is no block', () => {
    const text = calibrationText({ machine, results: [], calibration: { here, dominance: [] } });
    expect(text).toMatch(/not measured/);
    expect(text).toMatch(/No host calibration: which ratios hold on hardware is not known/);
    expect(calibrationText({ machine, results: [] })).toBe('calibration: none in this report');
  });

  it("reads dd's time", () => {
    expect(parseDdSeconds('1000+0 records in\n1000+0 records out\n1000 bytes (1.0 kB, 1000 B) copied, 0.00312 s, 320 kB/s\n')).toBe(0.00312);
    expect(parseDdSeconds('copied, 1.5e-05 s, 66 MB/s')).toBe(1.5e-5);
    expect(parseDdSeconds('dd: failed to open')).toBeUndefined();
  });
});

describe('the pressure lines', () => {
  it('say what made the pressure, the stall, and what each pool gave back', () => {
    const lines = pressureText({
      source: 'cgroup',
      cgroupLimitBytes: 16 << 20,
      file: '/usr/bin/node',
      passes: 12,
      cgroupEvents: { low: 0, high: 0, max: 5321, oom: 0 },
      cgroupStallUs: 2_500_000,
      availableBefore: 1 << 30,
      availableDuring: 1 << 30,
      stallUs: 1_234_000,
      pools: [{ variant: 'pool-system', label: 'bufferPool(systemHeap())', levels: [{ level: 'buffer pool', pressureEvents: 3, trimmedBytes: 9 << 20 }, { level: 'inner page pool', pressureEvents: 1, trimmedBytes: 0 }] }],
    });
    expect(lines[0]).toBe("pressure: a child read /usr/bin/node over and over in a memory cgroup of 16 MiB (12 passes; cgroup memory.events: max 5321); memory stall (PSI some, system-wide) grew 1234.0 ms, the cgroup's own 2500.0 ms");
    expect(lines[1]).toBe('  bufferPool(systemHeap()): buffer pool 3 pressure events, 9 MiB trimmed; inner page pool 1 pressure event, 0 KiB trimmed');
    // Reports of format 2: a process holding memory.
    expect(pressureText(fixture.scenarioInfo.pressure!)[0]).toMatch(/^pressure: another process held \d+ MiB of \d+ MiB available; memory stall \(PSI some, system-wide\) grew \d+\.\d ms$/);
  });
});

function t0(lines: string[]): string {
  return lines[0]!;
}
