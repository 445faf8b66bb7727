import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { joinSamples, turnFigures, type Samples } from './loops.js';
import { addRatios, crossesOne, median, referenceAround, roundOrder, roundRatios, sandwiched, spreadOf } from './rounds.js';
import type { BenchReport, Result } from './types.js';

const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'vm-merged.json'), 'utf8')) as BenchReport;

function result(variant: string, scenario: Result['scenario'], size: number, nsPerCall: number): Result {
  return { variant, label: variant, group: 'seed', scenario, size, requested: 10, iterations: 10, totalNs: nsPerCall * 10, nsPerCall, gbPerSec: 0 };
}

describe('medians and spreads', () => {
  it('take the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(spreadOf([1.2, 0.9, 1.1, 1.0, 1.3])).toEqual({ median: 1.1, min: 0.9, max: 1.3 });
  });

  it('flag a spread with ratios on both sides of 1', () => {
    expect(crossesOne({ min: 0.9, max: 1.3 })).toBe(true);
    expect(crossesOne({ min: 1.01, max: 1.3 })).toBe(false);
    expect(crossesOne({ min: 0.5, max: 0.99 })).toBe(false);
    expect(crossesOne({ min: 1, max: 1 })).toBe(false); // the kernel against itself
  });
});

describe('the rounds', () => {
  it('rotate the order, reversed every other round, so that each heap runs first and last', () => {
    const heaps = ['kernel', 'kernel-c', 'skipsync', 'pool'];
    expect([0, 1, 2, 3].map((r) => roundOrder(heaps, r).join(' '))).toEqual([
      'kernel kernel-c skipsync pool',
      'kernel-c kernel pool skipsync',
      'skipsync pool kernel kernel-c',
      'pool skipsync kernel-c kernel',
    ]);
    const firsts = new Set([0, 1, 2, 3, 4, 5, 6, 7].map((r) => roundOrder(heaps, r)[0]));
    const lasts = new Set([0, 1, 2, 3, 4, 5, 6, 7].map((r) => roundOrder(heaps, r).at(-1)));
    expect(firsts.size).toBe(4);
    expect(lasts.size).toBe(4);
    for (let r = 0; r < 8; r++) expect([...roundOrder(heaps, r)].sort()).toEqual([...heaps].sort());
    expect(roundOrder([], 3)).toEqual([]);
  });

  it('give per-round ratios of the kernel over the heap, round by round', () => {
    expect(roundRatios([100, 200, 300], [50, 400, 300])).toEqual([2, 0.5, 1]);
    expect(roundRatios([100, 200], [50])).toEqual([2]); // a missing round is left out
    expect(roundRatios([100, 0], [50, 10])).toEqual([2]);
  });

  it('join into one set of samples: calls and times add up', () => {
    const s = (n: number, per: number, start: number): Samples => ({
      n,
      totalNs: n * per,
      startNs: start,
      endNs: start + n * per,
      bytes: n * 4096,
      call: Float64Array.from({ length: n }, () => per),
      alloc: Float64Array.from({ length: n }, () => per / 2),
    });
    const rounds = [s(2, 100, 1000), s(3, 200, 5000)];
    const m = joinSamples(rounds, 800);
    expect(m.n).toBe(5);
    expect(m.totalNs).toBe(800);
    expect(m.bytes).toBe(5 * 4096);
    expect([m.startNs, m.endNs]).toEqual([1000, 5600]);
    expect([...m.call]).toEqual([100, 100, 200, 200, 200]);
    expect([...m.alloc!]).toEqual([50, 50, 100, 100, 100]);
    expect(m.free).toBeUndefined();
    expect(rounds.map((r) => turnFigures(r).ns)).toEqual([100, 200]);
  });

  it("take each round's median call for the ratios, so that a stalled call does not decide the round", () => {
    const stalled: Samples = { n: 3, totalNs: 5200, startNs: 0, endNs: 5200, bytes: 0, call: Float64Array.from([100, 5000, 100, 0]) };
    const untimed: Samples = { n: 4, totalNs: 400, startNs: 0, endNs: 400, bytes: 0, call: new Float64Array(0) };
    expect([stalled, untimed].map((r) => turnFigures(r).ns)).toEqual([100, 100]); // the fourth slot is unused; without calls: the mean
    expect([stalled, untimed].map((r) => Math.round(turnFigures(r).mean))).toEqual([1733, 100]);
  });
});

describe('the reference around each turn', () => {
  it('runs before every heap and after the last one', () => {
    expect(sandwiched(['a', 'b', 'c'], 'K')).toEqual(['K', 'a', 'K', 'b', 'K', 'c', 'K']);
    expect(sandwiched([], 'K')).toEqual(['K']);
    expect(sandwiched(['a', 'b'], undefined)).toEqual(['a', 'b']); // no kernel heap here: the heaps alone
  });

  it("gives each heap's turn the mean of the reference's turns just before and after it", () => {
    // The guest slows down by half during the second round: a heap's ratio must not change with it.
    const turns = [
      { key: 'K', ns: 100, mean: 110 },
      { key: 'a', ns: 50, mean: 55 },
      { key: 'K', ns: 100, mean: 110 },
      { key: 'b', ns: 200, mean: 220 },
      { key: 'K', ns: 200, mean: 220 }, // slowed down from here
      { key: 'b', ns: 400, mean: 440 },
      { key: 'K', ns: 200, mean: 220 },
      { key: 'a', ns: 100, mean: 110 },
      { key: 'K', ns: 200, mean: 220 },
    ];
    const around = referenceAround(turns, 'K');
    expect(around.get('K')).toBeUndefined();
    expect(around.get('a')).toEqual({ ns: [100, 200], means: [110, 220] });
    expect(around.get('b')).toEqual({ ns: [150, 200], means: [165, 220] });
    expect(roundRatios(around.get('a')!.ns, [50, 100])).toEqual([2, 2]); // the same in both rounds
  });

  it('takes the one neighbour a turn has at either end, and gives nothing without a reference', () => {
    const around = referenceAround([{ key: 'a', ns: 10, mean: 10 }, { key: 'K', ns: 30, mean: 40 }, { key: 'b', ns: 10, mean: 10 }], 'K');
    expect(around.get('a')).toEqual({ ns: [30], means: [40] });
    expect(around.get('b')).toEqual({ ns: [30], means: [40] });
    expect(referenceAround([{ key: 'a', ns: 10, mean: 10 }], 'K').size).toBe(0);
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
  });

  it("match the ones in a real run's JSON, each boot's to its own kernel heap", () => {
    const main = structuredClone(fixture.results.filter((r) => r.kernel === undefined));
    const cma = structuredClone(fixture.results.filter((r) => r.kernel !== undefined));
    expect(cma.length).toBeGreaterThan(0);
    addRatios(main);
    expect(main.map((r) => [r.ratioToKernel, r.ratioSpread, r.meanRatio])).toEqual(
      fixture.results.filter((r) => r.kernel === undefined).map((r) => [r.ratioToKernel, r.ratioSpread, r.meanRatio]),
    );
  });
});
