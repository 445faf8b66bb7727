// The `workers` scenario: the seed loop in several worker_threads at once, each with its own heap, released
// together; reported as the aggregate cost of one call (wall time over all threads' calls). This file is also
// each thread's entry: started with the marker below as its workerData, it serves the gang.
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { joinSamples, seedInCSamples, seedSamples, warmUp, type Samples } from './loops.js';
import type { LoopOptions } from './types.js';
import { VARIANTS } from './variants.js';

const MARK = 'dmaheap-bench-worker';
interface Job { variant: string; size: number; loop: LoopOptions; /** [0] becomes 1 when every thread is ready. */ start: Int32Array }
type Reply = { ready: true } | { samples: Samples } | { error: string };

export class WorkerGang {
  readonly #workers: Worker[];

  constructor(readonly count: number) {
    this.#workers = Array.from({ length: count }, () => new Worker(new URL(import.meta.url), { workerData: MARK }));
  }

  /** Runs the seed loop of `variant` at `size` in every thread at once. */
  async run(variant: string, size: number, loop: LoopOptions): Promise<Samples[]> {
    const start = new Int32Array(new SharedArrayBuffer(4));
    const go = () => (Atomics.store(start, 0, 1), Atomics.notify(start, 0));
    let ready = 0;
    const results = this.#workers.map(
      (w) =>
        new Promise<Samples>((resolve, reject) => {
          const onMessage = (m: Reply) => {
            if ('ready' in m) return void (++ready === this.count && go());
            w.off('message', onMessage).off('error', reject);
            if ('error' in m) reject(new Error(`worker: ${m.error}`));
            else resolve(m.samples);
          };
          w.on('message', onMessage).once('error', reject);
          w.postMessage({ variant, size, loop, start } satisfies Job);
        }),
    );
    try {
      return await Promise.all(results);
    } finally {
      go(); // never leave a thread waiting at the start line when another one failed before it got there
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** Threads' samples as one: ns/call is the wall time from the first call's start to the last call's end over all calls. */
export const mergeSamples = (all: Samples[]): Samples => joinSamples(all, Math.max(...all.map((s) => s.endNs)) - Math.min(...all.map((s) => s.startNs)));

/** One thread: opens its own heap and warms it up, waits at the start line with the others, runs the loop, sends its samples. */
async function serve(job: Job, post: (r: Reply, transfer?: ArrayBuffer[]) => void): Promise<void> {
  const v = VARIANTS.find((x) => x.id === job.variant)!;
  const heap = v.kind === 'c-loop' ? undefined : v.open!();
  try {
    if (heap) warmUp(job.loop, () => heap.allocate(job.size).close());
    post({ ready: true });
    Atomics.wait(job.start, 0, 0);
    const samples = heap ? await seedSamples(heap, job.size, { ...job.loop, warmup: 0 }) : await seedInCSamples(job.size, job.loop, false);
    post({ samples }, [samples.call, samples.alloc, samples.free].flatMap((a) => (a ? [a.buffer as ArrayBuffer] : [])));
  } finally {
    heap?.close();
  }
}

if (workerData === MARK && parentPort) {
  const port = parentPort;
  port.on('message', (job: Job) => {
    void serve(job, (r, transfer) => port.postMessage(r, transfer)).catch((err: unknown) =>
      port.postMessage({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies Reply),
    );
  });
}
