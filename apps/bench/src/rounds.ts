// Interleaved rounds: the seed loop runs every heap in several short rounds in rotating order after an untimed
// warm-up round, so that no heap always runs first, or always after the same neighbour, or before the others have
// warmed the code they share. In each round the kernel reference runs before every heap and after the last one
// (K a K b K c K): the speed of an emulated guest on a shared host drifts by two or three times within seconds
// (measured: the same pure-JavaScript loop took 3.5 µs and 9 µs a call a few seconds apart), so each turn of a
// heap is compared with the reference's turns just before and after it, not with one from up to a round away.
// Each ratio is then the median of these per-round ratios, with its spread.
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

/** One timed turn of a heap in a round: its median call and its mean, ns. */
export interface Turn {
  key: string;
  ns: number;
  mean: number;
}

/**
 * For each heap's turns, in order, the reference's figures around each: the mean of the reference's turns just
 * before and just after it in `turns` (one of them at either end). The reference itself is left out.
 */
export function referenceAround(turns: readonly Turn[], refKey: string): Map<string, { ns: number[]; means: number[] }> {
  const out = new Map<string, { ns: number[]; means: number[] }>();
  const refs = turns.map((t, i) => (t.key === refKey ? i : -1)).filter((i) => i >= 0);
  turns.forEach((t, i) => {
    if (t.key === refKey || refs.length === 0) return;
    const before = refs.filter((r) => r < i).at(-1);
    const after = refs.find((r) => r > i);
    const around = [before, after].filter((r): r is number => r !== undefined).map((r) => turns[r]!);
    const entry = out.get(t.key) ?? { ns: [], means: [] };
    entry.ns.push(around.reduce((a, r) => a + r.ns, 0) / around.length);
    entry.means.push(around.reduce((a, r) => a + r.mean, 0) / around.length);
    out.set(t.key, entry);
  });
  return out;
}

/** A round's order with the reference between every two heaps and at both ends: `K a K b K` (just the heaps without it). */
export function sandwiched<T>(heaps: readonly T[], reference: T | undefined): T[] {
  if (reference === undefined) return [...heaps];
  return [reference, ...heaps.flatMap((h) => [h, reference])];
}
