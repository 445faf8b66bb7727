import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dominance } from './calibrate.js';
import { calibrationRows, formatShares } from './report.js';
import type { BenchReport, CalibrationFigures, Result } from './types.js';

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
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'vm-merged.json'), 'utf8')) as BenchReport;

function result(variant: string, scenario: Result['scenario'], size: number, nsPerCall: number): Result {
  return { variant, label: variant, group: 'seed', scenario, size, requested: 10, iterations: 10, totalNs: nsPerCall * 10, nsPerCall, gbPerSec: 0 };
}

describe("what the kernel heap's seed call is made of", () => {
  it('is measured from its C loop: fixed cost at the smallest size, zeroing above it, Node’s on top', () => {
    const rs = [
      result('kernel', 'seed', 4096, 160),
      result('kernel-c', 'seed', 4096, 40),
      result('kernel', 'seed', 1 << 25, 1000),
      result('kernel-c', 'seed', 1 << 25, 840),
      result('kernel', 'seed', 8192, 200), // no C loop at this size: nothing measured
      result('kernel', 'touch', 4096, 900), // other scenarios: not measured
      { ...result('kernel', 'seed', 4096, 90), kernel: '6.12.117-cma' }, // another boot's
    ];
    expect(dominance(rs)).toEqual([
      { scenario: 'seed', size: 4096, shares: { syscalls: 0.25, js: 0.75 }, dominant: 'js' },
      { scenario: 'seed', size: 1 << 25, shares: { 'kernel-zero': 0.8, syscalls: 0.04, js: 0.16 }, dominant: 'kernel-zero' },
    ]);
    expect(formatShares(dominance(rs)[1]!.shares)).toBe('zeroing in the kernel 80%, JavaScript 16%, system calls 4%');
    expect(dominance(rs.filter((r) => r.variant !== 'kernel-c'))).toEqual([]);
  });

  it("matches a real run's", () => {
    expect(dominance(fixture.results)).toEqual(fixture.calibration.dominance);
    expect(fixture.calibration.dominance.map((d) => d.size)).toEqual(fixture.options.sizes);
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
