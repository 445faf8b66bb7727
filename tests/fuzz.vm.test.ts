// Property-based fuzz of operation sequences against a model (@dmaheap/vm/guest's fuzzHeap), on every heap and
// pool of the stock kernel, in the VM: the common path, and the heap closed with buffers alive, dup() copies
// outliving everything, buffers dropped with and without live views and collected, canary files checked after
// every step. The pools run in fuzz-pools.vm.test.ts (a file of their own: files run in parallel), the CMA
// heaps in the CMA boot (cma-heap/src/fuzz.cma.vm.test.ts).
import { describe } from 'vitest';
import { kernelHeap } from '@dmaheap/native';
import { systemHeap } from '@dmaheap/system-heap';
import { fuzzHeap } from '@dmaheap/vm/guest';

describe('fuzzed sequences of operations match the model', () => {
  fuzzHeap("kernelHeap('system')", () => kernelHeap('system'));
  fuzzHeap('systemHeap()', () => systemHeap());
  fuzzHeap('systemHeap({ zero: "on-alloc", orders: [4, 0] })', () => systemHeap({ zero: 'on-alloc', orders: [4, 0] }));
});
