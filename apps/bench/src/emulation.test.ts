import { describe, expect, it } from 'vitest';
import type { CalibrationFigures } from './calibrate.js';
import { addVerdicts, calibrationRows, dominance, estimateShares, formatShares, inflation, mainCosts, measuredKernelShares, profileOf, verdict, verdictNote } from './emulation.js';
import type { Result } from './measure.js';

const figures = (over: Partial<CalibrationFigures>): CalibrationFigures => ({
  kernel: '6.12.117',
  cpuModel: 'QEMU TCG',
  userZeroGBps: 0.2,
  kernelZeroGBps: 0.2,
  syscallNs: 10_000,
  cSyscallNs: 8000,
  jsCallNs: 500,
  allocNs: 200,
  zeroBytes: 32 << 20,
  ...over,
});
// Figures of the kind measured here: userspace zeroing slowed ×200 by the emulator, the kernel's ×15, system calls ×6, JS calls ×15.
const guest = figures({});
const host = figures({ kernel: '6.1.0', cpuModel: 'host', userZeroGBps: 40, kernelZeroGBps: 3, syscallNs: 3000, cSyscallNs: 8000 / 6, jsCallNs: 500 / 15, allocNs: 25 });

function result(variant: string, scenario: Result['scenario'], size: number, nsPerCall: number, ratioToKernel?: number): Result {
  return { variant, label: variant, group: 'seed', scenario, size, requested: 10, iterations: 10, totalNs: nsPerCall * 10, nsPerCall, gbPerSec: 0, ...(ratioToKernel ? { ratioToKernel } : {}) };
}

describe('inflation', () => {
  it('is guest time over host time for each kind of work, the C system call preferred', () => {
    const f = inflation(guest, host);
    expect(f['user-zero']).toBeCloseTo(200);
    expect(f['kernel-zero']).toBeCloseTo(15);
    expect(f.syscalls).toBeCloseTo(6);
    expect(f.js).toBeCloseTo(15);
    const { cSyscallNs: _, ...noC } = host;
    expect(inflation(guest, noC).syscalls).toBeCloseTo(10_000 / 3000);
  });
});

describe('what a call is made of', () => {
  it('knows where each heap zeroes and whether it makes system calls', () => {
    expect(profileOf('kernel', 'seed')).toEqual({ zero: ['kernel'], syscalls: true, js: true });
    expect(profileOf('kernel-c', 'seed')).toEqual({ zero: ['kernel'], syscalls: true, js: false });
    expect(profileOf('pool-system', 'seed')).toEqual({ zero: [], syscalls: false, js: true });
    expect(profileOf('skipsync', 'seed')).toEqual({ zero: [], syscalls: true, js: true });
    expect(profileOf('pool-kernel', 'touch')).toEqual({ zero: ['user'], syscalls: true, js: true });
    expect(profileOf('skipsync', 'sync-private')?.syscalls).toBe(false);
    expect(profileOf('skipsync', 'sync-shared')?.syscalls).toBe(true);
    expect(profileOf('nope', 'seed')).toBeUndefined();
  });

  it('estimates zeroing from the bandwidth, the rest split between system calls and JavaScript', () => {
    // 1 MiB at 0.2 GB/s: 5.2 ms of a 10 ms call; the other 4.8 ms in halves.
    const s = estimateShares({ zero: ['kernel'], syscalls: true, js: true }, 1 << 20, 10e6, guest);
    expect(s['kernel-zero']).toBeCloseTo(0.524, 3);
    expect(s.syscalls).toBeCloseTo(0.238, 3);
    expect(s.js).toBeCloseTo(0.238, 3);
    // Zeroing cannot take longer than the call.
    expect(estimateShares({ zero: ['user'], syscalls: false, js: true }, 32 << 20, 1e6, guest)).toEqual({ 'user-zero': 1 });
    expect(estimateShares({ zero: [], syscalls: false, js: true }, 4096, 500, guest)).toEqual({ js: 1 });
  });

  it("measures the kernel heap's from its C loop: fixed cost at the smallest size, zeroing above it, Node's on top", () => {
    const rs = [result('kernel', 'seed', 4096, 160), result('kernel-c', 'seed', 4096, 40), result('kernel', 'seed', 1 << 25, 1000), result('kernel-c', 'seed', 1 << 25, 840)];
    expect(measuredKernelShares(rs, 4096)).toEqual({ syscalls: 0.25, js: 0.75 });
    expect(measuredKernelShares(rs, 1 << 25)).toEqual({ syscalls: 0.04, 'kernel-zero': 0.8, js: 0.16 });
    expect(measuredKernelShares(rs, 8192)).toBeUndefined();
    const d = dominance(rs, guest);
    expect(d.map((x) => [x.size, x.dominant, x.measured])).toEqual([
      [4096, 'js', true],
      [1 << 25, 'kernel-zero', true],
    ]);
    expect(formatShares(d[1]!.shares)).toBe('zeroing in the kernel 80%, JavaScript 16%, system calls 4%');
  });

  it('keeps the costs of at least a quarter, or the largest', () => {
    expect(mainCosts({ js: 0.75, syscalls: 0.25 })).toEqual(['js', 'syscalls']);
    expect(mainCosts({ 'kernel-zero': 0.8, js: 0.16, syscalls: 0.04 })).toEqual(['kernel-zero']);
    expect(mainCosts({ js: 0.2, syscalls: 0.2, 'kernel-zero': 0.2, 'user-zero': 0.4 })).toEqual(['user-zero']);
  });
});

describe('whether a ratio holds on hardware', () => {
  const f = inflation(guest, host);

  it('holds when both sides are dominated by work the emulator slows alike', () => {
    expect(verdict(['js'], ['js'], f)).toMatchObject({ low: 1, high: 1, holds: true });
    expect(verdict(['js'], ['kernel-zero'], f).holds).toBe(true); // ×15 and ×15
  });

  it('does not when a heap that zeroes in userspace is compared with one that zeroes in the kernel', () => {
    const v = verdict(['user-zero'], ['kernel-zero'], f);
    expect(v.holds).toBe(false);
    expect(v.low).toBeCloseTo(200 / 15);
    expect(verdictNote(v, f)).toMatch(/^not a hardware figure: .*zeroing in userspace ×200.*zeroing in the kernel ×15.*times 13–13$/);
  });

  it('does not when system calls weigh on one side and JavaScript on the other', () => {
    const v = verdict(['syscalls', 'js'], ['js'], f);
    expect(v.holds).toBe(false);
    expect([v.low, v.high].map((x) => Number(x.toFixed(2)))).toEqual([0.4, 1]);
  });

  it('is set on each ratio of the run, not on the kernel heap or rows merged from another boot', () => {
    const rs = [
      result('kernel', 'seed', 4096, 160),
      result('kernel-c', 'seed', 4096, 40, 4),
      result('pool-system', 'seed', 4096, 100, 1.6),
      result('kernel', 'touch', 1 << 20, 10e6),
      result('pool-kernel', 'touch', 1 << 20, 6e6, 1.6),
      { ...result('pool-cma', 'seed', 4096, 100, 1.5), kernel: '6.12.117-cma' },
    ];
    addVerdicts(rs, { here: guest, host, inflation: f, dominance: [] });
    expect(rs.map((r) => r.hardware?.holds)).toEqual([undefined, false, false, undefined, false, undefined]);
    expect(rs[1]!.hardware).toMatchObject({ heap: ['syscalls'], kernel: ['js', 'syscalls'] }); // the C loop: no JavaScript
    expect(rs[2]!.hardware).toMatchObject({ heap: ['js'], kernel: ['js', 'syscalls'] });
    expect(rs[4]!.hardware?.heap).toEqual(['user-zero']);
  });
});

describe('the calibration rows', () => {
  it('show here, the host and the factor; without a host, no factor', () => {
    const rows = calibrationRows({ here: guest, host });
    expect(rows.map((r) => r.factor)).toEqual(['×200', '×15', '×3.3', '×6.0', '×15', '×8.0']);
    expect(rows[0]).toEqual({ what: 'zeroing in userspace (Buffer.fill(0), 32 MiB)', here: '0.200 GB/s', host: '40.0 GB/s', factor: '×200' });
    expect(rows[4]!.here).toBe('500 ns');
    expect(rows[2]!.here).toBe('10.0 µs');
    expect(calibrationRows({ here: guest }).every((r) => r.host === '' && r.factor === '')).toBe(true);
  });
});
