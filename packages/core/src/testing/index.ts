// The conformance suite every heap runs against itself (the abstract-level pattern):
//   describeHeapConformance('my heap', { open: () => myHeap() });
// It needs vitest and a real kernel: the buffers it allocates are real dma-bufs. One file per feature; what a
// heap declares in `supports` gates the parts that need it (recycling.ts).
import { afterAll, beforeAll, describe } from 'vitest';
import type { Heap } from '../types.js';
import { describeAllocation } from './allocation.js';
import { describeBadInput } from './bad-input.js';
import { describeLifetimes } from './lifetimes.js';
import { describeRecycling } from './recycling.js';
import { describeWorkers } from './workers.js';

export { Canaries, collectGarbage, CONFORMANCE_SIZES, expectTypedError, openFdCount } from './helpers.js';

export interface ConformanceOptions {
  /** Opens the heap under test; it is closed after the suite. */
  open: () => Heap | Promise<Heap>;
  /**
   * For the worker_threads test: a module (URL or specifier resolvable from a worker) whose export
   * `exportName` (default `openHeap`) is a function returning the same kind of heap.
   */
  worker?: { module: string; exportName?: string };
}

export function describeHeapConformance(label: string, options: ConformanceOptions): void {
  describe(`heap conformance: ${label}`, () => {
    let heap: Heap;
    beforeAll(async () => {
      heap = await options.open();
    });
    afterAll(() => heap?.close());
    const get = () => heap;
    describeAllocation(get);
    describeLifetimes(options);
    describeBadInput(get);
    describeRecycling(get);
    describeWorkers(options);
  });
}
