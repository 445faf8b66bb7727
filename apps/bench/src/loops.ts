// The timed loops. The seed's loop: open the heap once, allocate and close the same size N times, each call timed
// on its own (allocation and free apart), the seed's total their sum. The other scenarios time their own
// operation the same way, through the same recorder, and give results of the same shape.
import type { DmaBuf, Heap } from '@dmaheap/core';
import { addSeals, closeFd, constants, ftruncate, memfdCreate, openDevice, seedLoop, udmabufCreate } from '@dmaheap/native';
import { median } from './rounds.js';
import type { LoopOptions, Percentiles, Result, Scenario } from './types.js';

/** What a timed loop collected, before it becomes a Result (worker threads send this back). */
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

/** Runs (turns of a heap, or threads at once) as one: calls, bytes and per-call times join; `totalNs` is the caller's. */
export function joinSamples(all: readonly Samples[], totalNs: number): Samples {
  const join = (pick: (s: Samples) => Float64Array | undefined) => (all.every(pick) ? Float64Array.from(all.flatMap((s) => [...pick(s)!])) : undefined);
  const [alloc, free] = [join((s) => s.alloc), join((s) => s.free)];
  const sum = (pick: (s: Samples) => number) => all.reduce((n, s) => n + pick(s), 0);
  return {
    n: sum((s) => s.n), totalNs, startNs: Math.min(...all.map((s) => s.startNs)), endNs: Math.max(...all.map((s) => s.endNs)), bytes: sum((s) => s.bytes),
    call: join((s) => s.call)!, ...(alloc ? { alloc } : {}), ...(free ? { free } : {}),
  };
}

export function percentiles(samples: Float64Array, n = samples.length): Percentiles {
  const s = samples.subarray(0, n).slice().sort();
  const at = (q: number) => s[Math.min(n - 1, Math.floor(q * n))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: s[n - 1] ?? 0 };
}

/**
 * A turn's figures for the ratios: its median call (the mean where calls were not timed one by one: under
 * emulation single calls stall for tens of ms when the guest loses its CPU, and the median leaves that out), and its mean.
 */
export function turnFigures(s: Samples): { ns: number; mean: number } {
  const mean = s.totalNs / Math.max(1, s.n);
  return { ns: s.call.length ? median([...s.call.subarray(0, s.n)]) : mean, mean };
}

export function toResult(v: { id: string; label: string; group: string }, scenario: Scenario, size: number, requested: number, s: Samples): Result {
  const r: Result = {
    variant: v.id, label: v.label, group: v.group, scenario, size, requested,
    iterations: s.n, totalNs: s.totalNs, nsPerCall: s.totalNs / Math.max(1, s.n), gbPerSec: s.bytes / Math.max(1, s.totalNs),
  };
  if (s.call.length) r.call = percentiles(s.call, s.n);
  if (s.alloc) r.alloc = percentiles(s.alloc, s.n);
  if (s.free) r.free = percentiles(s.free, s.n);
  return r;
}

/** The line the seed's benchmark prints, so results compare with published ones. */
export function seedLine(r: Pick<Result, 'size' | 'iterations' | 'totalNs' | 'nsPerCall'>): string {
  return `dmabuf heap: alloc ${r.size} bytes ${r.iterations} times in ${Math.round(r.totalNs)} ns \t ${Math.round(r.nsPerCall)} ns/call`;
}

const now = () => process.hrtime.bigint();

/** Runs `op` up to `o.warmup` times, stopping early (after one) once half the run's time cap has passed. */
export function warmUp(o: LoopOptions, op: (i: number) => void): void {
  const until = now() + BigInt(Math.round(o.maxMs * 5e5));
  for (let i = 0; i < o.warmup && (i === 0 || now() <= until); i++) op(i);
}

/** One call as its step timed it: start, end, bytes, and (timed apart) its allocation and its free, ns. */
type Timed = [t0: bigint, t1: bigint, bytes: number, alloc?: bigint, free?: bigint];

/**
 * The recorder every loop runs in: `step` up to the iteration count, or to the time cap (counted from here, after
 * the warm-up) once `minIterations` calls are made. Synchronous steps run without a turn of the event loop between.
 */
async function timed(o: LoopOptions, apart: boolean, step: (i: number) => Timed | Promise<Timed>): Promise<Samples> {
  const call = new Float64Array(o.iterations);
  const [alloc, free] = [new Float64Array(apart ? o.iterations : 0), new Float64Array(apart ? o.iterations : 0)];
  const deadline = now() + BigInt(Math.round(o.maxMs * 1e6));
  let [n, bytes, total, start, end] = [0, 0, 0n, 0n, 0n];
  while (n < o.iterations && !(n >= o.minIterations && end > deadline)) {
    let x = step(n);
    if (x instanceof Promise) x = await x;
    const [t0, t1, b, a, f] = x;
    if (n === 0) start = t0;
    end = t1;
    call[n] = Number(t1 - t0);
    if (apart) [alloc[n], free[n]] = [Number(a), Number(f)];
    total += t1 - t0;
    bytes += b;
    n++;
  }
  const samples: Samples = { n, totalNs: Number(total), startNs: Number(start), endNs: Number(end), bytes, call: call.slice(0, n) };
  return apart ? { ...samples, alloc: alloc.slice(0, n), free: free.slice(0, n) } : samples;
}

/** `op` warmed up, then timed whole, call by call. */
function timeEach(o: LoopOptions, bytes: number, op: () => void): Promise<Samples> {
  warmUp(o, op);
  return timed(o, false, () => {
    const t0 = now();
    op();
    return [t0, now(), bytes];
  });
}

/**
 * The seed loop on a heap: allocate, (`touch`: write one byte per 4 KiB page inside `withCpuAccess('write')`), close;
 * the allocation and the close timed apart. `cold`: the heap's pool is emptied before every (untimed) call; `yields`:
 * the event loop gets a turn (untimed) after every call, so that timers such as a pool's pressure monitor run.
 */
export function seedSamples(heap: Heap, size: number, o: LoopOptions, opts: { cold?: boolean; yields?: boolean; touch?: boolean } = {}): Promise<Samples> {
  const trim = (heap as Heap & { trim?: (target?: number) => number }).trim?.bind(heap);
  const touch = (view: Uint8Array) => {
    for (let i = 0; i < view.length; i += 4096) view[i] = 1;
  };
  warmUp(o, () => {
    const buf = heap.allocate(size);
    if (opts.touch) buf.withCpuAccess('write', touch);
    buf.close();
  });
  const step = (): Timed => {
    if (opts.cold) trim?.(0);
    const t0 = now();
    const buf = heap.allocate(size);
    const t1 = now();
    const t2 = opts.touch ? (buf.withCpuAccess('write', touch), now()) : t1;
    buf.close();
    const t3 = now();
    return [t0, t3, size, t1 - t0, t3 - t2];
  };
  const paced = async () => {
    const x = step();
    await new Promise<void>((resolve) => setImmediate(resolve));
    return x;
  };
  return timed(o, true, opts.yields ? paced : step);
}

/**
 * The seed loop in C inside the addon: the floor Node's overhead is measured against. `perCall` (the rounds): one
 * allocate + close per native call, timed in C, so that a turn's median call is known. Otherwise a first timed
 * call tells how many more fit the time cap (at least `minIterations` in all), which then run in one native call.
 */
export async function seedInCSamples(size: number, o: LoopOptions, perCall: boolean): Promise<Samples> {
  const fd = openDevice('/dev/dma_heap/system');
  try {
    if (o.warmup > 0) seedLoop(fd, size, o.warmup);
    if (perCall) return await timed(o, false, () => { const t0 = now(); return [t0, t0 + BigInt(Math.round(seedLoop(fd, size, 1))), size]; });
    if (o.iterations <= 0) return { n: 0, totalNs: 0, startNs: 0, endNs: 0, bytes: 0, call: new Float64Array(0) };
    const t0 = now();
    const first = seedLoop(fd, size, 1);
    const more = Math.min(o.iterations - 1, Math.max(o.minIterations - 1, Math.floor((o.maxMs * 1e6 - first) / Math.max(1, first))));
    const rest = more > 0 ? seedLoop(fd, size, more) : 0;
    const n = 1 + Math.max(0, more);
    return { n, totalNs: first + rest, startNs: Number(t0), endNs: Number(now()), bytes: size * n, call: new Float64Array(0) };
  } finally {
    closeFd(fd);
  }
}

/** A udmabuf from a fresh memfd every time: what a naive userspace heap would do. */
export async function freshUdmabufSamples(size: number, o: LoopOptions): Promise<Samples> {
  const dev = openDevice('/dev/udmabuf', constants.O_RDWR);
  try {
    return await timeEach(o, size, () => {
      const memfd = memfdCreate('bench-fresh', { allowSealing: true });
      try {
        ftruncate(memfd, size);
        addSeals(memfd, ['shrink']);
        closeFd(udmabufCreate(dev, { memfd, size }));
      } finally {
        closeFd(memfd);
      }
    });
  } finally {
    closeFd(dev);
  }
}

/** Camera-like buffers: 1080p and 4K NV12 frames with 4 KiB metadata buffers, interleaved; 8 alive at once. */
export const MIX_PATTERN: readonly number[] = [1920 * 1080 * 3 / 2, 4096, 3840 * 2160 * 3 / 2, 4096, 1920 * 1080 * 3 / 2, 4096];
export const MIX_LIVE = 8;
export const MIX_MEAN_SIZE = Math.round(MIX_PATTERN.reduce((a, b) => a + b, 0) / MIX_PATTERN.length);

/** The mix: one call is one allocation of the pattern's next size and the close of the oldest buffer, both timed. */
export async function mixSamples(heap: Heap, o: LoopOptions): Promise<Samples> {
  const live: DmaBuf[] = [];
  const step = (k: number): Timed => {
    const size = MIX_PATTERN[k % MIX_PATTERN.length]!;
    const t0 = now();
    live.push(heap.allocate(size));
    const t1 = now();
    let t2 = t1;
    if (live.length > MIX_LIVE) {
      live.shift()!.close();
      t2 = now();
    }
    return [t0, t2, size, t1 - t0, t2 - t1];
  };
  try {
    for (let i = 0; i < Math.max(o.warmup, MIX_LIVE); i++) step(i); // fills the ring: every timed call frees one
    return await timed(o, true, step);
  } finally {
    for (const b of live.splice(0)) b.close();
  }
}

/** `beginCpuAccess`/`endCpuAccess('readwrite')` pairs on a mapped buffer; `shared`: a dup of its fd is held, as an importer would. */
export async function syncSamples(heap: Heap, size: number, shared: boolean, o: LoopOptions): Promise<Samples> {
  const buf = heap.allocate(size);
  let importer: number | undefined;
  try {
    buf.map();
    if (shared) importer = buf.dup();
    return await timeEach(o, size, () => {
      buf.beginCpuAccess('readwrite');
      buf.endCpuAccess('readwrite');
    });
  } finally {
    if (importer !== undefined) closeFd(importer);
    buf.close();
  }
}

/** Sends a buffer to the `share` scenario's consumer process; resolves with the byte it read, once it closed it. */
export type Consumer = (buffer: DmaBuf) => Promise<number>;

/** A frame to another process and back per call: allocate, write its first byte, send, the consumer reads and acks, close. */
export async function shareSamples(heap: Heap, size: number, o: LoopOptions, consumer: Consumer): Promise<Samples> {
  const frame = async (i: number) => {
    const buf = heap.allocate(size);
    try {
      buf.withCpuAccess('write', (v) => void (v[0] = i & 0xff));
      const seen = await consumer(buf);
      if (seen !== (i & 0xff)) throw new Error(`the consumer read ${seen} from frame ${i}, not ${i & 0xff}`);
    } finally {
      buf.close();
    }
  };
  for (let i = 0; i < Math.min(o.warmup, 200); i++) await frame(i);
  return timed(o, false, async (i): Promise<Timed> => {
    const t0 = now();
    await frame(i);
    return [t0, now(), size];
  });
}
