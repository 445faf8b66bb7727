// On the CMA kernel (cma=256M: the area and its heap are both named `reserved`): the CMA heap is found by what the
// kernel says, the area sysfs lists, and kernelHeap takes it for contiguous, unguarded memory.
// Run: node tools/vm/dist/cli.js --cma-setup -- node node_modules/vitest/vitest.mjs run --project cma packages/native/src/kernel-heap.cma.vm.test.ts
import { describe, expect, it } from 'vitest';
import { aliasNames, cmaAreaNames, kernelCmaHeaps } from '@dmaheap/core';
import { kernelHeap } from './index.js';

describe('the CMA heap, by the kernel CMA areas', () => {
  it('reserved is an area sysfs lists and a heap node: the one CMA heap, and what openHeap("cma") stands for', () => {
    expect(cmaAreaNames()).toEqual({ names: ['reserved'], from: 'sysfs' });
    expect(kernelCmaHeaps()).toEqual(['reserved']);
    expect(aliasNames('cma')).toEqual(['reserved']);
    const heap = kernelHeap('reserved');
    try {
      expect(heap.capabilities).toMatchObject({ contiguous: true, cached: true, maxAllocation: 256 * 1024 * 1024 });
    } finally {
      heap.close();
    }
  });
});
