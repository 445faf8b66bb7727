// The plan on this machine (the host has neither dma-buf heaps nor udmabuf: every heap is skipped, with why),
// and the pure parts of the scenarios.
import { describe, expect, it } from 'vitest';
import { mergeSamples, MIX_MEAN_SIZE, MIX_PATTERN, type Samples } from './loops.js';
import { plan, roundResults, SCENARIO_NAMES, SCENARIOS, type Task } from './scenarios.js';
import { VARIANTS } from './variants.js';

describe('the plan', () => {
  it('lists the heaps that cannot run here, each once, with the reason', () => {
    const { tasks, skipped } = plan(SCENARIO_NAMES, undefined, [4096]);
    const runnable = VARIANTS.filter((v) => !v.skip()).map((v) => v.id);
    expect(tasks.every((t) => runnable.includes(t.variant.id))).toBe(true);
    expect(new Set(skipped.map((s) => s.variant)).size).toBe(skipped.length);
    for (const s of skipped) expect(s.reason).toMatch(/\S/);
    if (runnable.length === 0) expect(skipped.map((s) => s.variant)).toEqual(VARIANTS.map((v) => v.id));
  });

  it('skips the CMA heaps on a kernel without one, saying where they run', () => {
    const { skipped } = plan(['seed'], ['cma', 'cma-heap', 'pool-cma'], [4096]);
    const reason = 'needs a CMA heap: Debian x86 kernels have none; npm run bench runs it on the CMA test kernel';
    expect(skipped).toEqual([
      { variant: 'cma', label: 'kernel CMA heap', reason },
      { variant: 'cma-heap', label: 'cmaHeap()', reason },
      { variant: 'pool-cma', label: 'bufferPool(cmaHeap())', reason },
    ]);
  });

  it('knows every scenario, and rejects nothing it lists', () => {
    expect(SCENARIO_NAMES).toEqual(['seed', 'mix', 'touch', 'sync', 'pressure', 'workers', 'share']);
  });
});

describe("a size's rounds", () => {
  const turn = (id: string, round: number, calls: number[]) => ({
    task: { def: SCENARIOS[0]!, scenario: 'seed', variant: VARIANTS.find((v) => v.id === id)!, size: 4096, round, rounds: 2 } satisfies Task,
    samples: { n: calls.length, totalNs: calls.reduce((a, b) => a + b, 0), startNs: 0, endNs: 0, bytes: calls.length * 4096, call: Float64Array.from(calls) } satisfies Samples,
  });

  it("become one result per heap: its turns' calls together, each turn's median and mean, the kernel's turns around each", () => {
    // K a K b K | K b K a K (round 2 in reverse)
    const turns = [
      turn('kernel', 1, [100, 100]), turn('skipsync', 1, [50, 70]), turn('kernel', 1, [100, 100]), turn('pool-system', 1, [10]), turn('kernel', 1, [300, 300]),
      turn('kernel', 2, [200, 200]), turn('pool-system', 2, [20, 30, 40]), turn('kernel', 2, [200, 200]), turn('skipsync', 2, [100]), turn('kernel', 2, [200, 200]),
    ];
    const [kernel, skipsync, pool] = roundResults(turns, 50);
    expect([kernel!.variant, skipsync!.variant, pool!.variant]).toEqual(['kernel', 'skipsync', 'pool-system']);
    expect(kernel!.rounds).toEqual([100, 100, 300, 200, 200, 200]);
    expect(skipsync).toMatchObject({ scenario: 'seed', size: 4096, requested: 100, iterations: 3, totalNs: 220, rounds: [60, 100], roundMeans: [60, 100] });
    expect(skipsync!.reference).toEqual({ rounds: [100, 200], means: [100, 200] });
    expect(pool!.reference).toEqual({ rounds: [200, 200], means: [200, 200] }); // (100 + 300) / 2, then 200
    expect(pool!.call).toEqual({ p50: 30, p99: 40, max: 40 });
  });
});

describe('the camera-like mix', () => {
  it('is 1080p and 4K NV12 frames with 4 KiB metadata', () => {
    expect(new Set(MIX_PATTERN)).toEqual(new Set([3_110_400, 12_441_600, 4096]));
    expect(MIX_MEAN_SIZE).toBe(Math.round((2 * 3_110_400 + 12_441_600 + 3 * 4096) / 6));
  });
});

describe('worker threads merged', () => {
  const s = (startNs: number, endNs: number, calls: number[]): Samples => ({
    n: calls.length,
    totalNs: calls.reduce((a, b) => a + b, 0),
    startNs,
    endNs,
    bytes: calls.length * 4096,
    call: Float64Array.from(calls),
    alloc: Float64Array.from(calls.map((c) => c / 2)),
    free: Float64Array.from(calls.map((c) => c / 2)),
  });

  it('are wall time over all calls, with every call in the percentiles', () => {
    const m = mergeSamples([s(1000, 5000, [1000, 3000]), s(1500, 7000, [2000, 2000, 1500])]);
    expect(m.n).toBe(5);
    expect(m.totalNs).toBe(6000); // from the first start to the last end
    expect(m.bytes).toBe(5 * 4096);
    expect([...m.call]).toEqual([1000, 3000, 2000, 2000, 1500]);
    expect(m.alloc?.length).toBe(5);
  });

  it('have no per-call samples when the C loop ran', () => {
    const c = (t: number): Samples => ({ n: 10, totalNs: 100, startNs: t, endNs: t + 100, bytes: 0, call: new Float64Array(0) });
    const m = mergeSamples([c(0), c(50)]);
    expect(m.call.length).toBe(0);
    expect(m.alloc).toBeUndefined();
    expect(m.totalNs).toBe(150);
  });
});
