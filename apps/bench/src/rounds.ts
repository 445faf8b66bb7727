// Interleaved rounds: the seed loop runs every heap in several short rounds in rotating order after an untimed
// warm-up round, so that no heap always runs first, or always after the same neighbour. In each round the kernel
// reference runs before every heap and after the last one (K a K b K c K): an emulated guest's speed drifts by two
// or three times within seconds, so each turn of a heap is compared with the reference's turns just around it.
// A ratio is the median of these per-round ratios, with their spread. Pure functions.
import type { Result } from './types.js';

export interface Spread { median: number; min: number; max: number }

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const spreadOf = (xs: readonly number[]): Spread => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
/** Values on both sides of 1: which of the two is faster is not settled. */
export const crossesOne = (s: Pick<Spread, 'min' | 'max'>): boolean => s.min < 1 && s.max > 1;

/**
 * Round `round`'s order (0 is the warm-up): item `round` (mod the count) first, the others following in the list's order in even rounds and in
 * reverse in odd ones, so that each runs first and last and follows a different neighbour.
 */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const rotate = (k: number) => [...items.slice(k % items.length), ...items.slice(0, k % items.length)];
  return items.length === 0 ? [] : round % 2 ? rotate(round + 1).reverse() : rotate(round);
}

/** The reference between every two heaps and at both ends: `K a K b K` (the heaps alone without one). */
export const sandwiched = <T>(heaps: readonly T[], reference: T | undefined): T[] =>
  reference === undefined ? [...heaps] : [reference, ...heaps.flatMap((h) => [h, reference])];

/** One timed turn of a heap: its median call and its mean, ns. */
export interface Turn { key: string; ns: number; mean: number }

/** For each heap's turns, in order, the mean of the reference's turns just before and after each (one at either end). */
export function referenceAround(turns: readonly Turn[], refKey: string): Map<string, { ns: number[]; means: number[] }> {
  const out = new Map<string, { ns: number[]; means: number[] }>();
  const refs = turns.flatMap((t, i) => (t.key === refKey ? [i] : []));
  turns.forEach((t, i) => {
    if (t.key === refKey || refs.length === 0) return;
    const around = [refs.filter((r) => r < i).at(-1), refs.find((r) => r > i)].filter((r) => r !== undefined).map((r) => turns[r]!);
    const entry = out.get(t.key) ?? { ns: [], means: [] };
    entry.ns.push(around.reduce((a, r) => a + r.ns, 0) / around.length);
    entry.means.push(around.reduce((a, r) => a + r.mean, 0) / around.length);
    out.set(t.key, entry);
  });
  return out;
}

/** The kernel's figure over the heap's, round by round (rounds missing or zero on either side left out). */
export function roundRatios(kernel: readonly number[], heap: readonly number[]): number[] {
  return heap.slice(0, kernel.length).flatMap((h, i) => (kernel[i]! > 0 && h > 0 ? [kernel[i]! / h] : []));
}

/**
 * Each result's ratio to the kernel heap's result of the same scenario and size: with rounds, the median of the per-round ratios to the kernel's
 * turns around each of its own, with their spread (and the same from the rounds' means); otherwise the ratio of the two ns/call.
 */
export function addRatios(results: Result[]): void {
  for (const r of results) {
    const k = results.find((x) => x.variant === 'kernel' && x.size === r.size && x.scenario === r.scenario);
    for (const f of ['ratioToKernel', 'ratioRounds', 'ratioSpread', 'ratioCrossesOne', 'meanRatio'] as const) delete r[f];
    const self = r.variant === 'kernel';
    const means = roundRatios((self ? r.roundMeans : (r.reference?.means ?? k?.roundMeans)) ?? [], r.roundMeans ?? []);
    if (means.length) r.meanRatio = spreadOf(means);
    const perRound = roundRatios((self ? r.rounds : (r.reference?.rounds ?? k?.rounds)) ?? [], r.rounds ?? []);
    if (perRound.length) {
      const s = spreadOf(perRound);
      Object.assign(r, { ratioToKernel: s.median, ratioRounds: perRound, ratioSpread: { min: s.min, max: s.max }, ratioCrossesOne: crossesOne(s) });
    } else if (k && r.nsPerCall > 0) r.ratioToKernel = k.nsPerCall / r.nsPerCall;
  }
}
