// Interleaved rounds: the seed loop runs every heap, the kernel reference included, in several short rounds
// in rotating order after an untimed warm-up round, so that no heap always runs first, or always after the same
// neighbour, or before the others have warmed the code they share. Each ratio is then the median of per-round
// ratios (the kernel's ns/call in a round over the heap's in the same round), with its spread.
import { joinSamples, type Samples } from './measure.js';

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function spreadOf(xs: readonly number[]): Spread {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

/** True when the spread has values on both sides of 1: which of the two is faster is not settled. */
export function crossesOne(s: Pick<Spread, 'min' | 'max'>): boolean {
  return s.min < 1 && s.max > 1;
}

/**
 * The order of round `round` (0 is the warm-up): item `round` (mod the count) goes first, the others follow in
 * the list's order in even rounds and in reverse in odd ones, so that over the rounds each heap runs first and
 * last, and follows a different neighbour from one round to the next.
 */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const n = items.length;
  if (n === 0) return [];
  const rotate = (k: number) => [...items.slice(k % n), ...items.slice(0, k % n)];
  return round % 2 ? rotate(round + 1).reverse() : rotate(round);
}

/** Per-round ratios: the kernel's ns/call over the heap's, round by round (rounds missing on either side are left out). */
export function roundRatios(kernelNs: readonly number[], heapNs: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(kernelNs.length, heapNs.length); i++) {
    const k = kernelNs[i]!;
    const h = heapNs[i]!;
    if (k > 0 && h > 0) out.push(k / h);
  }
  return out;
}

/** The timed rounds of one heap at one size as one set of samples: calls and times add up, per-call arrays join. */
export function concatSamples(rounds: readonly Samples[]): Samples {
  return joinSamples(rounds, rounds.reduce((n, s) => n + s.totalNs, 0));
}

/**
 * Each round's figure for the ratios: its median call, ns (the mean where calls were not timed one by one).
 * Under emulation, on a host shared with other guests, single calls stall for tens of milliseconds when the
 * guest loses its CPU; a round's mean then says more about that than about the heap, its median does not.
 */
export function roundNs(rounds: readonly Samples[]): number[] {
  return rounds.map((s) => (s.call.length ? median([...s.call.subarray(0, s.n)]) : s.totalNs / Math.max(1, s.n)));
}

/** Each round's mean ns per call (the seed's own figure), kept beside the medians. */
export function roundMeans(rounds: readonly Samples[]): number[] {
  return rounds.map((s) => s.totalNs / Math.max(1, s.n));
}
