// One thread of the `workers` scenario: opens its own heap, warms it up, waits at the start line with the
// other threads, then runs the seed loop and sends its samples back.
import { parentPort } from 'node:worker_threads';
import type { Heap } from '@dmaheap/core';
import { seedInCSamples, seedSamples, warmUp, type LoopOptions, type Samples } from './measure.js';
import { variant } from './variants.js';

export interface WorkerJob {
  variant: string;
  size: number;
  loop: LoopOptions;
  /** Int32Array over a SharedArrayBuffer: [0] becomes 1 when every thread is ready. */
  start: Int32Array;
}

export type WorkerReply = { ready: true } | { samples: Samples } | { error: string };

const port = parentPort!;
port.on('message', (job: WorkerJob) => {
  void run(job).catch((err: unknown) => port.postMessage({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies WorkerReply));
});

async function run(job: WorkerJob): Promise<void> {
  const v = variant(job.variant);
  if (v.kind === 'c-loop') {
    port.postMessage({ ready: true } satisfies WorkerReply);
    Atomics.wait(job.start, 0, 0);
    const samples = seedInCSamples(job.size, job.loop);
    port.postMessage({ samples } satisfies WorkerReply, transfer(samples));
    return;
  }
  const heap: Heap = v.open!();
  try {
    warmUp(job.loop, () => heap.allocate(job.size).close());
    port.postMessage({ ready: true } satisfies WorkerReply);
    Atomics.wait(job.start, 0, 0);
    const samples = await seedSamples(heap, job.size, { ...job.loop, warmup: 0 });
    port.postMessage({ samples } satisfies WorkerReply, transfer(samples));
  } finally {
    heap.close();
  }
}

function transfer(s: Samples): ArrayBuffer[] {
  return [s.call, s.alloc, s.free].filter((a): a is Float64Array => a !== undefined).map((a) => a.buffer as ArrayBuffer);
}
