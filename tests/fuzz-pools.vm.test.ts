// The model-based fuzz of fuzz.vm.test.ts on the pools over each stock-kernel heap.
import { describe } from 'vitest';
import { kernelHeap } from '@dmaheap/native';
import { bufferPool } from '@dmaheap/pagepool';
import { systemHeap } from '@dmaheap/system-heap';
import { fuzzHeap } from '@dmaheap/vm/guest';

describe('fuzzed sequences of operations match the model', () => {
  fuzzHeap("bufferPool(kernelHeap('system'))", () => bufferPool(kernelHeap('system')));
  fuzzHeap('bufferPool(systemHeap())', () => bufferPool(systemHeap()));
  fuzzHeap("bufferPool(systemHeap({ zero: 'on-alloc' }))", () => bufferPool(systemHeap({ zero: 'on-alloc' })));
});
