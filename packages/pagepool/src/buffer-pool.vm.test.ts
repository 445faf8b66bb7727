// bufferPool over the kernel's system heap, in the VM: the core conformance suite (recycled buffers zeroed, a
// buffer another fd still holds not handed out again, lifetimes, bad input), and that a pool refusing its options
// leaves the heap it was given open. bufferPool over systemHeap() is tested beside systemHeap()
// (packages/system-heap/src/conformance.vm.test.ts); every pool and heap side by side, in the repository's tests/.
import { describe, expect, it } from 'vitest';
import { describeHeapConformance } from '@dmaheap/core/testing';
import { kernelHeap } from '@dmaheap/native';
import { bufferPool } from './index.js';

describeHeapConformance("bufferPool(kernelHeap('system'))", { open: () => bufferPool(kernelHeap('system')) });

// (The other factories' bad input, bufferPool's and PagePool's included, is one table: tests/factories.vm.test.ts.)
describe('heap factories refuse bad input with typed errors and leak nothing', () => {
  it('a bad pool option to bufferPool closes nothing the caller still owns', () => {
    const inner = kernelHeap('system');
    expect(() => bufferPool(inner, { maxPerSize: -1 })).toThrow(expect.objectContaining({ code: 'ERR_DMAHEAP_INVALID_ARGUMENT' }));
    inner.allocate(4096).close(); // the inner heap is still the caller's, and open
    inner.close();
  });
});
