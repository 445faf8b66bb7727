// The same property-based fuzz as the stock kernel's heaps (@dmaheap/vm/guest's fuzzHeap), on cmaHeap() and a
// pool over it, in the CMA boot.
import { describe } from 'vitest';
import { bufferPool } from '@dmaheap/pagepool';
import { fuzzHeap } from '@dmaheap/vm/guest';
import { cmaHeap } from './index.js';

describe('fuzzed sequences of operations match the model', () => {
  fuzzHeap('cmaHeap()', () => cmaHeap());
  fuzzHeap('bufferPool(cmaHeap())', () => bufferPool(cmaHeap()));
});
