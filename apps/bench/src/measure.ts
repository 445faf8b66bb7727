// The timed loops. The seed's loop: open the heap once, allocate and close the same size N times; each call is
// timed on its own (allocation and free apart) and the seed's total is the sum. The other scenarios time their
// own operation the same way and give results of the same shape.
import type { DmaBuf, Heap } from '@dmaheap/core';
import {
  addSeals,
  closeFd,
  constants,
  ftruncate,
  memfdCreate,
  openDevice,
  seedLoop,
  udmabufCreate,
} from '@dmaheap/native';
import type { HardwareVerdict } from './emulation.js';
import type { Variant } from './variants.js';

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

export type Scenario = 'seed' | 'mix' | 'touch' | 'sync-private' | 'sync-shared' | 'workers' | 'pressure' | 'share';

export interface Result {
  variant: string;
  label: string;
  group: string;
  scenario: Scenario;
  /** Bytes per allocation (for `mix`: the mean of the mix). */
  size: number;
  /** Iterations asked for; `iterations` is lower when the run hit its time cap. */
  requested: number;
  iterations: number;
  /** Sum of the timed calls, ns (what the seed's line prints). */
  totalNs: number;
  nsPerCall: number;
  /** Bytes allocated (for the sync scenarios: bracketed) per ns of timed calls, i.e. GB/s. */
  gbPerSec: number;
  /** One whole call (allocate + close; for `touch` allocate + map + touch + close; for sync one begin+end pair). */
  call?: Percentiles;
  alloc?: Percentiles;
  free?: Percentiles;
  /**
   * Kernel heap's ns/call over this one's, same size and scenario (> 1: faster than the kernel). With rounds:
   * the median of the per-round ratios.
   */
  ratioToKernel?: number;
  /** With rounds: each timed round's median call, ns, in the order the rounds ran (what the ratios use). */
  rounds?: number[];
  /** With rounds: each timed round's mean ns per call (the seed's figure; stalls of the emulated guest weigh in it). */
  roundMeans?: number[];
  /**
   * With rounds: for each of this heap's rounds, the kernel heap's median call and mean ns/call in its turns
   * just before and after this heap's turn (their mean); what the per-round ratios use.
   */
  reference?: { rounds: number[]; means: number[] };
  /** With rounds: the per-round ratios to the kernel heap, and their least and greatest. */
  ratioRounds?: number[];
  ratioSpread?: { min: number; max: number };
  /** With rounds: the same from each round's mean ns/call instead of its median call (median, least, greatest). */
  meanRatio?: { median: number; min: number; max: number };
  /** The spread has ratios on both sides of 1: which of the two is faster is not settled. */
  ratioCrossesOne?: boolean;
  /** Whether the ratio carries over to hardware, from the calibration (emulated runs with a host calibration). */
  hardware?: HardwareVerdict;
  /** `workers`: how many threads ran the loop at once; ns/call is wall time over all their calls. */
  workers?: number;
  /** Set when the result comes from another boot merged in (`--merge`): the kernel it ran on. Its ratio is to
   * that run's own kernel heap. */
  kernel?: string;
}

export interface LoopOptions {
  iterations: number;
  /** Stop a run after this long (emulated machines are slow at 32 MiB). */
  maxMs: number;
  warmup: number;
  /** Iterations run even past the time cap. */
  minIterations: number;
}

/** What a timed loop collected, before it becomes a Result (workers send this back to be merged). */
export interface Samples {
  n: number;
  totalNs: number;
  /** hrtime of the first timed call's start and the last one's end (one clock for all threads). */
  startNs: number;
  endNs: number;
  bytes: number;
  call: Float64Array;
  alloc?: Float64Array;
  free?: Float64Array;
}

/**
 * Several runs' samples as one (timed rounds of one heap, or threads run at once): calls and bytes add up, the
 * per-call arrays join, the span runs from the first start to the last end; `totalNs` is the caller's to count.
 */
export function joinSamples(all: readonly Samples[], totalNs: number): Samples {
  const join = (pick: (s: Samples) => Float64Array | undefined): Float64Array | undefined => {
    const parts = all.map(pick);
    if (parts.some((p) => p === undefined)) return undefined;
    const out = new Float64Array(parts.reduce((n, p) => n + p!.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p!, at);
      at += p!.length;
    }
    return out;
  };
  const merged: Samples = {
    n: all.reduce((n, s) => n + s.n, 0),
    totalNs,
    startNs: Math.min(...all.map((s) => s.startNs)),
    endNs: Math.max(...all.map((s) => s.endNs)),
    bytes: all.reduce((n, s) => n + s.bytes, 0),
    call: join((s) => s.call) ?? new Float64Array(0),
  };
  const alloc = join((s) => s.alloc);
  const free = join((s) => s.free);
  if (alloc) merged.alloc = alloc;
  if (free) merged.free = free;
  return merged;
}

export function percentiles(samples: Float64Array, n = samples.length): Percentiles {
  const s = samples.subarray(0, n).slice().sort();
  const at = (q: number) => s[Math.min(n - 1, Math.floor(q * n))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: s[n - 1] ?? 0 };
}

export function toResult(v: Variant, scenario: Scenario, size: number, requested: number, s: Samples): Result {
  const r: Result = {
    variant: v.id,
    label: v.label,
    group: v.group,
    scenario,
    size,
    requested,
    iterations: s.n,
    totalNs: s.totalNs,
    nsPerCall: s.totalNs / Math.max(1, s.n),
    gbPerSec: s.bytes / Math.max(1, s.totalNs),
  };
  if (s.call.length) r.call = percentiles(s.call, s.n);
  if (s.alloc) r.alloc = percentiles(s.alloc, s.n);
  if (s.free) r.free = percentiles(s.free, s.n);
  return r;
}

const now = () => process.hrtime.bigint();
const deadlineOf = (o: LoopOptions) => now() + BigInt(Math.round(o.maxMs * 1e6));

/** Runs `op` up to `o.warmup` times, stopping early (after one) once half the run's time cap has passed. */
export function warmUp(o: LoopOptions, op: (i: number) => void): void {
  const until = now() + BigInt(Math.round(o.maxMs * 5e5));
  for (let i = 0; i < o.warmup; i++) {
    op(i);
    if (now() > until) break;
  }
}
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The timed loop's bookkeeping, shared by every scenario: per-call times (allocation and free apart when
 * asked), the total, the first start and last end, and when to stop (the iteration count, or the time cap
 * once `minIterations` calls are made). Made after the warm-up: the time cap counts from here.
 */
class Recorder {
  readonly #o: LoopOptions;
  readonly #deadline: bigint;
  readonly #call: Float64Array;
  readonly #alloc: Float64Array | undefined;
  readonly #free: Float64Array | undefined;
  #n = 0;
  #total = 0n;
  #start = 0n;
  #end = 0n;
  #bytes = 0;

  constructor(o: LoopOptions, apart: boolean) {
    this.#o = o;
    this.#call = new Float64Array(o.iterations);
    this.#alloc = apart ? new Float64Array(o.iterations) : undefined;
    this.#free = apart ? new Float64Array(o.iterations) : undefined;
    this.#deadline = deadlineOf(o);
  }

  get n(): number {
    return this.#n;
  }

  /** One call from `t0` to `t1` over `bytes`, with its allocation and free times when timed apart; false: stop. */
  add(t0: bigint, t1: bigint, bytes: number, alloc?: bigint, free?: bigint): boolean {
    const i = this.#n++;
    if (i === 0) this.#start = t0;
    this.#end = t1;
    this.#call[i] = Number(t1 - t0);
    if (this.#alloc && alloc !== undefined) this.#alloc[i] = Number(alloc);
    if (this.#free && free !== undefined) this.#free[i] = Number(free);
    this.#total += t1 - t0;
    this.#bytes += bytes;
    return this.#n < this.#o.iterations && !(this.#n >= this.#o.minIterations && t1 > this.#deadline);
  }

  samples(): Samples {
    const n = this.#n;
    return {
      n,
      totalNs: Number(this.#total),
      startNs: Number(this.#start),
      endNs: Number(this.#end),
      bytes: this.#bytes,
      call: this.#call.slice(0, n),
      ...(this.#alloc ? { alloc: this.#alloc.slice(0, n) } : {}),
      ...(this.#free ? { free: this.#free.slice(0, n) } : {}),
    };
  }
}

/**
 * The seed loop on a heap. With `yieldEvery`, the loop gives the event loop a turn (untimed) after that many
 * iterations, so timers such as a pool's memory-pressure monitor can run (the `pressure` scenario).
 */
export async function seedSamples(heap: Heap, size: number, o: LoopOptions, opts: { cold?: boolean; yieldEvery?: number } = {}): Promise<Samples> {
  const trim = (heap as Heap & { trim?: (t?: number) => number }).trim?.bind(heap);
  warmUp(o, () => heap.allocate(size).close());
  const r = new Recorder(o, true);
  for (let more = o.iterations > 0; more; ) {
    if (opts.cold) trim?.(0);
    const t0 = now();
    const buf = heap.allocate(size);
    const t1 = now();
    buf.close();
    const t2 = now();
    more = r.add(t0, t2, size, t1 - t0, t2 - t1);
    if (more && opts.yieldEvery && r.n % opts.yieldEvery === 0) await yieldToEventLoop();
  }
  return r.samples();
}

/** What the `share` scenario sends frames to: a consumer process on a socket (see scenarios.ts). */
export interface Consumer {
  /** Sends the buffer; resolves with the byte the consumer read from it, once it closed it. */
  send(buffer: DmaBuf): Promise<number>;
}

/**
 * One frame handed to another process and back, per call: allocate, write its first byte, send it (the fd over
 * the socket, with its description), the consumer imports it, reads that byte, closes it and acks; then the
 * producer closes its handle (a pool takes the buffer back: the consumer has let go).
 */
export async function shareSamples(heap: Heap, size: number, o: LoopOptions, consumer: Consumer): Promise<Samples> {
  const frame = async (i: number) => {
    const buf = heap.allocate(size);
    try {
      buf.withCpuAccess('write', (v) => {
        v[0] = i & 0xff;
      });
      const seen = await consumer.send(buf);
      if (seen !== (i & 0xff)) throw new Error(`the consumer read ${seen} from frame ${i}, not ${i & 0xff}`);
    } finally {
      buf.close();
    }
  };
  for (let i = 0; i < Math.min(o.warmup, 200); i++) await frame(i);
  const r = new Recorder(o, false);
  for (let i = 0, more = o.iterations > 0; more; i++) {
    const t0 = now();
    await frame(i);
    more = r.add(t0, now(), size);
  }
  return r.samples();
}

/**
 * The seed loop in C inside the native addon: the floor Node's overhead is measured against. A first timed call
 * tells how many more fit the time cap (at least `minIterations` in all), which then run in one go; both count.
 */
export function seedInCSamples(size: number, o: LoopOptions): Samples {
  const heapFd = openDevice('/dev/dma_heap/system');
  try {
    if (o.warmup > 0) seedLoop(heapFd, size, o.warmup);
    if (o.iterations <= 0) return { n: 0, totalNs: 0, startNs: 0, endNs: 0, bytes: 0, call: new Float64Array(0) };
    const t0 = now();
    const first = seedLoop(heapFd, size, 1);
    const more = Math.min(o.iterations - 1, Math.max(o.minIterations - 1, Math.floor((o.maxMs * 1e6 - first) / Math.max(1, first))));
    const rest = more > 0 ? seedLoop(heapFd, size, more) : 0;
    const t1 = now();
    const n = 1 + Math.max(0, more);
    return { n, totalNs: first + rest, startNs: Number(t0), endNs: Number(t1), bytes: size * n, call: new Float64Array(0) };
  } finally {
    closeFd(heapFd);
  }
}

/**
 * The seed loop in C, timed call by call in C (one allocate + close per native call; the JavaScript between the
 * calls is not timed): what the interleaved rounds use, so that a round's median call is known for the C loop too.
 */
export function seedInCPerCall(size: number, o: LoopOptions): Samples {
  const heapFd = openDevice('/dev/dma_heap/system');
  try {
    if (o.warmup > 0) seedLoop(heapFd, size, o.warmup);
    const r = new Recorder(o, false);
    for (let more = o.iterations > 0; more; ) {
      const t0 = now();
      const ns = seedLoop(heapFd, size, 1);
      more = r.add(t0, t0 + BigInt(Math.round(ns)), size);
    }
    return r.samples();
  } finally {
    closeFd(heapFd);
  }
}

/** A udmabuf from a fresh memfd every time: what a naive userspace heap would do. */
export function freshUdmabufSamples(size: number, o: LoopOptions): Samples {
  const dev = openDevice('/dev/udmabuf', constants.O_RDWR);
  const one = () => {
    const memfd = memfdCreate('bench-fresh', { allowSealing: true });
    try {
      ftruncate(memfd, size);
      addSeals(memfd, ['shrink']);
      closeFd(udmabufCreate(dev, { memfd, size }));
    } finally {
      closeFd(memfd);
    }
  };
  try {
    warmUp(o, one);
    return timeEach(o, size, one);
  } finally {
    closeFd(dev);
  }
}

/** Times `op` on its own, call by call, up to the iteration count or the time cap. */
function timeEach(o: LoopOptions, bytesPerCall: number, op: () => void): Samples {
  const r = new Recorder(o, false);
  for (let more = o.iterations > 0; more; ) {
    const t0 = now();
    op();
    more = r.add(t0, now(), bytesPerCall);
  }
  return r.samples();
}

/** Camera-like buffers: 1080p and 4K NV12 frames with 4 KiB metadata buffers, interleaved. */
export const MIX_PATTERN: readonly number[] = [
  1920 * 1080 * 3 / 2, // 3 110 400: a 1080p NV12 frame
  4096, //               its metadata
  3840 * 2160 * 3 / 2, // 12 441 600: a 4K NV12 frame
  4096,
  1920 * 1080 * 3 / 2,
  4096,
];
/** How many buffers of the mix are alive at once: each allocation closes the oldest beyond this. */
export const MIX_LIVE = 8;
export const MIX_MEAN_SIZE = Math.round(MIX_PATTERN.reduce((a, b) => a + b, 0) / MIX_PATTERN.length);

/**
 * The mix: allocations cycle through MIX_PATTERN with MIX_LIVE buffers alive at once (the oldest is closed
 * as each new one arrives). One iteration is one allocation plus the close of the oldest buffer, both timed.
 */
export function mixSamples(heap: Heap, o: LoopOptions): Samples {
  const live: DmaBuf[] = [];
  /** One allocation, and the close of the oldest buffer once the ring is full: [size, start, allocated, end]. */
  const step = (k: number): [number, bigint, bigint, bigint] => {
    const size = MIX_PATTERN[k % MIX_PATTERN.length]!;
    const t0 = now();
    live.push(heap.allocate(size));
    const t1 = now();
    let t2 = t1;
    if (live.length > MIX_LIVE) {
      live.shift()!.close();
      t2 = now();
    }
    return [size, t0, t1, t2];
  };
  try {
    // Warm-up fills the ring, so every timed iteration allocates one buffer and frees one.
    for (let i = 0; i < Math.max(o.warmup, MIX_LIVE); i++) step(i);
    const r = new Recorder(o, true);
    for (let more = o.iterations > 0; more; ) {
      const [size, t0, t1, t2] = step(r.n);
      more = r.add(t0, t2, size, t1 - t0, t2 - t1);
    }
    return r.samples();
  } finally {
    for (const b of live.splice(0)) b.close();
  }
}

/** Allocate, map, write one byte per 4 KiB page inside `withCpuAccess('write')`, close. */
export function touchSamples(heap: Heap, size: number, o: LoopOptions): Samples {
  const touch = (view: Uint8Array) => {
    for (let i = 0; i < view.length; i += 4096) view[i] = 1;
  };
  warmUp(o, () => {
    const b = heap.allocate(size);
    b.withCpuAccess('write', touch);
    b.close();
  });
  const r = new Recorder(o, true);
  for (let more = o.iterations > 0; more; ) {
    const t0 = now();
    const b = heap.allocate(size);
    const t1 = now();
    b.withCpuAccess('write', touch);
    const t2 = now();
    b.close();
    const t3 = now();
    more = r.add(t0, t3, size, t1 - t0, t3 - t2);
  }
  return r.samples();
}

/**
 * `beginCpuAccess`/`endCpuAccess('readwrite')` pairs on one mapped buffer. `shared`: its fd was read and a dup
 * is held for the whole run, as an importer would, so a heap that skips syncs for private buffers must sync.
 */
export function syncSamples(heap: Heap, size: number, shared: boolean, o: LoopOptions): Samples {
  const buf = heap.allocate(size);
  let importer: number | undefined;
  try {
    buf.map();
    if (shared) importer = buf.dup();
    const pair = () => {
      buf.beginCpuAccess('readwrite');
      buf.endCpuAccess('readwrite');
    };
    warmUp(o, pair);
    return timeEach(o, size, pair);
  } finally {
    if (importer !== undefined) closeFd(importer);
    buf.close();
  }
}

/** The line the seed's benchmark prints, so results compare with published ones. */
export function seedLine(r: Pick<Result, 'size' | 'iterations' | 'totalNs' | 'nsPerCall'>): string {
  return `dmabuf heap: alloc ${r.size} bytes ${r.iterations} times in ${Math.round(r.totalNs)} ns \t ${Math.round(r.nsPerCall)} ns/call`;
}
