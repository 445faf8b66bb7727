// The timed loops. The seed's loop: open the heap once, allocate and close the same size N times, each call timed on
// its own (allocation and free apart), the seed's total their sum. The other scenarios time theirs the same way; the
// `workers` scenario runs the seed loop in several worker threads at once (this file is each thread's entry too).
import { once } from 'node:events';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import type { DmaBuf, Heap } from '@dmaheap/core';
import { addSeals, closeFd, constants, ftruncate, memfdCreate, openDevice, udmabufCreate } from '@dmaheap/native';
import { seedLoop } from '@dmaheap/vm/rig';
import { median } from './rounds.js';
import type { LoopOptions, Percentiles, Result, Scenario } from './types.js';
import { VARIANTS } from './variants.js';

/** What a timed loop collected (worker threads send it back): hrtime of the first call's start and the last one's end, one clock for all threads. */
export interface Samples { n: number; totalNs: number; startNs: number; endNs: number; bytes: number; call: Float64Array; alloc?: Float64Array; free?: Float64Array }

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
  return { p50: at(0.5), p99: at(0.99), max: at(1) };
}

/**
 * A turn's figures for the ratios: its median call (the mean where calls were not timed one by one: under emulation
 * single calls stall for tens of ms when the guest loses its CPU, and the median leaves that out), and its mean.
 */
export function turnFigures(s: Samples): { ns: number; mean: number } {
  const mean = s.totalNs / Math.max(1, s.n);
  return { ns: s.call.length ? median([...s.call.subarray(0, s.n)]) : mean, mean };
}

export function toResult(v: { id: string; label: string; group: string }, scenario: Scenario, size: number, requested: number, s: Samples): Result {
  const { n, totalNs, call, alloc, free } = s;
  return {
    variant: v.id, label: v.label, group: v.group, scenario, size, requested, iterations: n, totalNs, nsPerCall: totalNs / Math.max(1, n), gbPerSec: s.bytes / Math.max(1, totalNs),
    ...(call.length ? { call: percentiles(call, n) } : {}), ...(alloc ? { alloc: percentiles(alloc, n) } : {}), ...(free ? { free: percentiles(free, n) } : {}),
  };
}

/** The line the seed's benchmark prints, so results compare with published ones. */
export const seedLine = (r: Pick<Result, 'size' | 'iterations' | 'totalNs' | 'nsPerCall'>): string =>
  `dmabuf heap: alloc ${r.size} bytes ${r.iterations} times in ${Math.round(r.totalNs)} ns \t ${Math.round(r.nsPerCall)} ns/call`;

const now = () => process.hrtime.bigint();

/** Runs `op` up to `o.warmup` times, stopping early (after one) once half the run's time cap has passed. */
export function warmUp(o: LoopOptions, op: () => void): void {
  const until = now() + BigInt(Math.round(o.maxMs * 5e5));
  for (let i = 0; i < o.warmup && (i === 0 || now() <= until); i++) op();
}

/** One call as its step timed it: start, end, bytes, and (timed apart) its allocation and its free, ns. */
type Timed = [t0: bigint, t1: bigint, bytes: number, alloc?: bigint, free?: bigint];

/** The recorder every loop runs in: `step` up to the iteration count, or to the time cap (counted from here, after the warm-up) once `minIterations` calls are made. */
async function timed(o: LoopOptions, apart: boolean, step: (i: number) => Timed | Promise<Timed>): Promise<Samples> {
  const call = new Float64Array(o.iterations);
  const [alloc, free] = [new Float64Array(apart ? o.iterations : 0), new Float64Array(apart ? o.iterations : 0)];
  const deadline = now() + BigInt(Math.round(o.maxMs * 1e6));
  let [n, bytes, total, start, end] = [0, 0, 0n, 0n, 0n];
  for (; n < o.iterations && !(n >= o.minIterations && end > deadline); n++) {
    let x = step(n);
    if (x instanceof Promise) x = await x; // (a synchronous step gets no turn of the event loop, and makes no promise)
    const [t0, t1, b, a, f] = x;
    if (n === 0) start = t0;
    end = t1;
    total += t1 - t0;
    bytes += b;
    call[n] = Number(t1 - t0);
    if (apart) [alloc[n], free[n]] = [Number(a), Number(f)];
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
  const touch = (view: Uint8Array) => {
    for (let i = 0; i < view.length; i += 4096) view[i] = 1;
  };
  warmUp(o, () => {
    const buf = heap.allocate(size);
    if (opts.touch) buf.withCpuAccess('write', touch);
    buf.close();
  });
  const step = (): Timed => {
    if (opts.cold) heap.trim(0);
    const t0 = now();
    const buf = heap.allocate(size);
    const t1 = now();
    const t2 = opts.touch ? (buf.withCpuAccess('write', touch), now()) : t1;
    buf.close();
    const t3 = now();
    return [t0, t3, size, t1 - t0, t3 - t2];
  };
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  return timed(o, true, opts.yields ? async () => { const x = step(); await turn(); return x; } : step);
}

/**
 * The seed loop in C, in the test bed's rig addon (`@dmaheap/vm/rig`, never published): the floor Node's overhead
 * is measured against. `perCall` (the rounds): one allocate + close per native call, timed in C, so that a turn's
 * median call is known. Otherwise a first timed call tells how many more fit the time cap (at least `minIterations`
 * in all), which then run in one native call.
 */
export async function seedInCSamples(size: number, o: LoopOptions, perCall: boolean): Promise<Samples> {
  const fd = openDevice('/dev/dma_heap/system');
  try {
    if (o.warmup > 0) seedLoop(fd, size, o.warmup);
    if (perCall) return await timed(o, false, () => { const t0 = now(); return [t0, t0 + BigInt(Math.round(seedLoop(fd, size, 1))), size]; });
    if (o.iterations <= 0) return { n: 0, totalNs: 0, startNs: 0, endNs: 0, bytes: 0, call: new Float64Array(0) };
    const t0 = now();
    const first = seedLoop(fd, size, 1);
    const more = Math.max(0, Math.min(o.iterations - 1, Math.max(o.minIterations - 1, Math.floor((o.maxMs * 1e6 - first) / Math.max(1, first)))));
    const rest = more > 0 ? seedLoop(fd, size, more) : 0;
    return { n: 1 + more, totalNs: first + rest, startNs: Number(t0), endNs: Number(now()), bytes: size * (1 + more), call: new Float64Array(0) };
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
    const t2 = live.length > MIX_LIVE ? (live.shift()!.close(), now()) : t1;
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

/** A frame to another process and back per call: allocate, write its first byte, send (`send` resolves with the byte the consumer read), close. */
export async function shareSamples(heap: Heap, size: number, o: LoopOptions, send: (buffer: DmaBuf) => Promise<number>): Promise<Samples> {
  const frame = async (i: number) => {
    const buf = heap.allocate(size);
    try {
      buf.withCpuAccess('write', (v) => void (v[0] = i & 0xff));
      const seen = await send(buf);
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

// The `workers` scenario: each thread with its own heap, all released together; ns/call is wall time over all their calls.
const MARK = 'dmaheap-bench-worker';
/** `line`: [0] counts the threads ready, [1] becomes 1 when all `count` are (the start line). */
interface Job { variant: string; size: number; loop: LoopOptions; line: Int32Array; count: number }
const release = (line: Int32Array) => (Atomics.store(line, 1, 1), Atomics.notify(line, 1));

export class WorkerGang {
  readonly #workers: Worker[];

  constructor(readonly count: number) {
    this.#workers = Array.from({ length: count }, () => new Worker(new URL(import.meta.url), { workerData: MARK }));
  }

  /** Runs the seed loop of `variant` at `size` in every thread at once: each warms its heap up, then all start together. */
  async run(variant: string, size: number, loop: LoopOptions): Promise<Samples[]> {
    const line = new Int32Array(new SharedArrayBuffer(8));
    // Each reply rejects on its own (a failed thread, or its error event), so that the others are released at once.
    const replies = this.#workers.map(async (w) => {
      const [m] = (await once(w, 'message')) as [{ samples?: Samples; error?: string }];
      return m.samples ?? Promise.reject(new Error(`worker: ${m.error}`));
    });
    for (const w of this.#workers) w.postMessage({ variant, size, loop, line, count: this.count } satisfies Job);
    try {
      return await Promise.all(replies);
    } finally {
      release(line); // never leave a thread waiting at the start line when another one failed before it got there
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** Threads' samples as one: ns/call is the wall time from the first call's start to the last call's end over all calls. */
export const mergeSamples = (all: Samples[]): Samples => joinSamples(all, Math.max(...all.map((s) => s.endNs)) - Math.min(...all.map((s) => s.startNs)));

/** One thread's part: its own heap, warmed up; at the start line with the others (the last one there lets all go); the loop. */
async function serve({ variant, size, loop, line, count }: Job): Promise<Samples> {
  const v = VARIANTS.find((x) => x.id === variant)!;
  const heap = v.kind === 'c-loop' ? undefined : v.open!();
  try {
    if (heap) warmUp(loop, () => heap.allocate(size).close());
    if (Atomics.add(line, 0, 1) + 1 === count) release(line);
    Atomics.wait(line, 1, 0);
    return heap ? await seedSamples(heap, size, { ...loop, warmup: 0 }) : await seedInCSamples(size, loop, false);
  } finally {
    heap?.close();
  }
}

if (workerData === MARK && parentPort) {
  const port = parentPort;
  port.on('message', (job: Job) =>
    serve(job).then(
      (samples) => port.postMessage({ samples }, [samples.call, samples.alloc, samples.free].flatMap((a) => (a ? [a.buffer as ArrayBuffer] : []))),
      (err: unknown) => port.postMessage({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    ),
  );
}
