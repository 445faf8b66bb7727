import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDdSeconds } from './calibrate.js';
import { percentiles, seedLine } from './loops.js';
import { calibrationText, formatBytes, formatNs, formatRatio, formatSize, mergeRuns, parseSize, pressureText, ratioText, table } from './report.js';
import type { BenchReport, Result } from './types.js';

const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'vm-merged.json'), 'utf8')) as BenchReport;
const CMA_HEAPS = ['cma', 'cma-heap', 'pool-cma'];

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

describe('the ratio words', () => {
  it('give the median with its spread, flagged when the spread crosses 1', () => {
    expect(ratioText({ ratioToKernel: 1.1, ratioSpread: { min: 0.8, max: 1.25 }, ratioCrossesOne: true })).toBe('×1.10 [0.80–1.25]?');
    expect(ratioText({ ratioToKernel: 2.2, ratioSpread: { min: 2, max: 3 }, ratioCrossesOne: false })).toBe('×2.20 [2.00–3.00]');
    expect(ratioText({})).toBe('');
    const rs = [
      { ...result('kernel', 'seed', 4096, 100), ratioToKernel: 1, ratioSpread: { min: 1, max: 1 } },
      { ...result('skipsync', 'seed', 4096, 100), ratioToKernel: 1.1, ratioSpread: { min: 0.8, max: 1.25 }, ratioCrossesOne: true },
    ];
    const t = table(rs, 'seed').split('\n');
    expect(t[2]).toMatch(/^-{8}  -{25}$/); // the rule under the head, as wide as each column
    expect(t[4]).toMatch(/^skipsync\s+100 ns ×1\.10 \[0\.80–1\.25\]\?$/);
    expect(t.slice(5).join('\n')).toMatch(/×N \[a–b\]: the median and the least and greatest of the per-round ratios[^]*\?: the spread crosses 1/);
  });

  it('format ratios with three significant figures or more', () => {
    expect([0.923, 12.44, 2605.37].map(formatRatio)).toEqual(['×0.92', '×12.4', '×2605']);
  });
});

describe('a second boot merged in', () => {
  // The fixture is a merged report already: its first boot alone, and a CMA boot made of its rows.
  const main: BenchReport = {
    ...structuredClone(fixture),
    results: fixture.results.filter((r) => r.kernel === undefined),
    skipped: CMA_HEAPS.map((variant) => ({ variant, label: variant, reason: 'needs a CMA heap' })),
  };
  delete main.mergedRuns;
  const cmaRun: BenchReport = {
    ...structuredClone(fixture),
    date: '2026-11-25T02:00:00.000Z',
    machine: { ...fixture.machine, kernel: '6.12.57-dmaheap-cma' },
    skipped: [],
    results: [result('kernel', 'seed', 4096, 90), { ...result('cma-heap', 'seed', 4096, 180), ratioToKernel: 0.5 }, { ...result('pool-cma', 'seed', 4096, 30), ratioToKernel: 3 }],
  };
  const merged = mergeRuns(main, cmaRun);

  it("adds the heaps the main run lacks, with their own run's ratios and kernel, and no second kernel heap", () => {
    const added = merged.results.slice(main.results.length);
    expect(added.map((r) => [r.variant, r.ratioToKernel, r.kernel])).toEqual([
      ['cma-heap', 0.5, '6.12.57-dmaheap-cma'],
      ['pool-cma', 3, '6.12.57-dmaheap-cma'],
    ]);
    expect(merged.results.slice(0, main.results.length)).toEqual(main.results);
    expect(merged.mergedRuns).toEqual([{ date: cmaRun.date, machine: cmaRun.machine, variants: ['cma-heap', 'pool-cma'], calibration: cmaRun.calibration }]);
  });

  it('no longer lists those heaps as skipped, and names their kernel in the table', () => {
    expect(merged.skipped.map((s) => s.variant)).toEqual(['cma']);
    expect(table(merged.results, 'seed')).toMatch(/^pool-cma \[6\.12\.57-dmaheap-cma\]\s+\S+ \S?s ×3\.00\s+-$/m);
  });
});

describe('the terminal table', () => {
  it('has a row per heap and a column per size, with ratios and their spreads', () => {
    const t = table(fixture.results, 'seed').split('\n');
    expect(t[0]).toMatch(/^seed: .*higher is faster/);
    expect(t[1]).toMatch(/^heap\s+4 KiB\s+1 MiB$/);
    const heaps = new Set(fixture.results.filter((r) => r.scenario === 'seed').map((r) => r.variant));
    expect(t.filter((l) => /^\S/.test(l)).length).toBe(3 + heaps.size);
    expect(t[3]).toMatch(/^kernelHeap\('system'\)\s+\S+ \S?s\s+\S+ \S?s$/);
    expect(t[4]).toMatch(/^kernel heap, C loop\s+\S+ \S?s ×\d+\.\d\d \[\d+\.\d\d–\d+\.\d\d\]\??\s+/);
    expect(t.at(-2)).toMatch(/^ {2}×N \[a–b\]/);
    expect(table(fixture.results, 'mix').split('\n')[1]).toMatch(/^heap\s+mix$/);
  });
});

describe('the JSON of a real run', () => {
  it('has the documented shape', () => {
    expect(fixture.format).toBe('dmaheap-bench/3');
    expect(Object.keys(fixture.machine).sort()).toEqual(['arch', 'cpuModel', 'cpus', 'emulated', 'inVm', 'kernel', 'memoryBytes', 'node']);
    expect(new Set(fixture.results.map((r) => r.scenario))).toEqual(new Set(['seed', 'mix', 'touch', 'sync-private', 'sync-shared', 'workers', 'pressure', 'share']));
    for (const r of fixture.results) {
      expect(r.nsPerCall).toBeCloseTo(r.totalNs / r.iterations, 3);
      expect(r.iterations).toBeLessThanOrEqual(r.requested);
      expect(r.gbPerSec).toBeGreaterThan(0);
      if (r.scenario === 'workers') expect(r.workers).toBe(2);
      // In the seed loop's rounds the kernel heap takes a turn around every other heap's.
      if (r.scenario === 'seed' && r.variant !== 'kernel') expect(r.rounds).toHaveLength(fixture.options.rounds!.rounds);
      if (r.scenario === 'seed' && r.variant === 'kernel') expect(r.rounds!.length).toBeGreaterThan(fixture.options.rounds!.rounds);
    }
    expect(fixture.mergedRuns!.map((m) => m.variants)).toEqual([CMA_HEAPS]);
    expect(fixture.scenarioInfo.pressure!.source).toBe('cgroup');
  });
});

describe('the calibration block', () => {
  const here = { kernel: '6.12.117+deb12-amd64', cpuModel: 'QEMU TCG', userZeroGBps: 0.2, kernelZeroGBps: 0.14, syscallNs: 9000, cSyscallNs: 8000, jsCallNs: 600, allocNs: 180, zeroBytes: 32 << 20 };
  const host = { ...here, kernel: '6.1.0-host', userZeroGBps: 40, kernelZeroGBps: 2.3, syscallNs: 3000, cSyscallNs: 1300, jsCallNs: 35, allocNs: 20 };
  const machine = { ...fixture.machine, inVm: true, emulated: true };

  it('lists each figure here and on the host with the factor, and what the kernel heap’s seed call is made of', () => {
    const text = calibrationText({
      machine,
      calibration: { here, host, dominance: [{ scenario: 'seed', size: 4096, shares: { js: 0.75, syscalls: 0.25 }, dominant: 'js' }] },
    }).split('\n');
    expect(text[0]).toMatch(/^calibration: what each kind of work costs here and on the host/);
    expect(text[1]).toMatch(/^what\s+here: the guest \(Linux 6\.12\.117\+deb12-amd64, emulated\)\s+host \(Linux 6\.1\.0-host\)\s+here ÷ host \(time\)$/);
    expect(text.find((l) => l.startsWith('zeroing in userspace'))).toMatch(/0\.200 GB\/s\s+40\.0 GB\/s\s+×200$/);
    expect(text.find((l) => l.startsWith('JavaScript call'))).toMatch(/600 ns\s+35\.0 ns\s+×17$/);
    expect(text).toContain('  seed   4 KiB  dominated by JavaScript: JavaScript 75%, system calls 25%');
  });

  it('says so when the host was not measured', () => {
    const text = calibrationText({ machine, calibration: { here, dominance: [] } });
    expect(text.split('\n')[0]).toBe('calibration: what each kind of work costs here');
    expect(text.split('\n').filter((l) => /not measured$/.test(l))).toHaveLength(6);
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
    // Elsewhere than in the test bed: a process holding memory.
    const hog = pressureText({ source: 'hog', heldBytes: 700 << 20, availableBefore: 900 << 20, availableDuring: 200 << 20, stallUs: 52_000, pools: [] });
    expect(hog).toEqual(['pressure: another process held 700 MiB of 900 MiB available; memory stall (PSI some, system-wide) grew 52.0 ms', '  no pooling heap ran in it']);
    // The real run's.
    expect(pressureText(fixture.scenarioInfo.pressure!)[0]).toMatch(/^pressure: a child read \S+ over and over in a memory cgroup of 16 MiB \(\d+ passes; cgroup memory\.events: max \d+\); memory stall/);
  });
});
