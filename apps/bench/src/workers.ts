// The `workers` scenario: the seed loop in several worker_threads at once, each with its own heap, started
// together; reported as the aggregate cost of one call (wall time over all threads' calls).
import { Worker } from 'node:worker_threads';
import { joinSamples, type LoopOptions, type Samples } from './measure.js';
import type { WorkerJob, WorkerReply } from './worker-thread.js';

export class WorkerGang {
  readonly #workers: Worker[];

  constructor(readonly count: number) {
    this.#workers = Array.from({ length: count }, () => new Worker(new URL('./worker-thread.js', import.meta.url)));
  }

  /** Runs the seed loop of `variant` at `size` in every thread at once. */
  async run(variant: string, size: number, loop: LoopOptions): Promise<Samples[]> {
    const start = new Int32Array(new SharedArrayBuffer(4));
    let ready = 0;
    const results = this.#workers.map(
      (w) =>
        new Promise<Samples>((resolve, reject) => {
          const onMessage = (m: WorkerReply) => {
            if ('ready' in m) {
              if (++ready === this.count) {
                Atomics.store(start, 0, 1);
                Atomics.notify(start, 0);
              }
              return;
            }
            w.off('message', onMessage);
            w.off('error', reject);
            if ('error' in m) reject(new Error(`worker: ${m.error}`));
            else resolve(m.samples);
          };
          w.on('message', onMessage);
          w.once('error', reject);
          w.postMessage({ variant, size, loop, start } satisfies WorkerJob);
        }),
    );
    try {
      return await Promise.all(results);
    } finally {
      // Never leave a thread waiting at the start line when another one failed before it got there.
      Atomics.store(start, 0, 1);
      Atomics.notify(start, 0);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/**
 * Several threads' samples as one: ns/call is the wall time from the first call's start to the last call's
 * end over all calls of all threads; the per-call percentiles cover every call.
 */
export function mergeSamples(all: Samples[]): Samples {
  return joinSamples(all, Math.max(...all.map((s) => s.endNs)) - Math.min(...all.map((s) => s.startNs)));
}
