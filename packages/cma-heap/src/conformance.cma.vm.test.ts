// The core conformance suite on cmaHeap() and bufferPool(cmaHeap()), and the registry, in the CMA VM
// (the test bed's CMA kernel booted with cma=256M: the heap is /dev/dma_heap/reserved).
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { listHeaps, openHeap } from '@dmaheap/core';
import { describeHeapConformance } from '@dmaheap/core/testing';
import { kernelHeap } from '@dmaheap/native';
// The pool (a dev dependency: pools over this heap are tested here).
import { bufferPool } from '@dmaheap/pagepool';
import { cmaHeap, CmaBuffer } from './index.js';

const entry = pathToFileURL(createRequire(import.meta.url).resolve('@dmaheap/cma-heap')).href;

describeHeapConformance('cmaHeap()', { open: () => cmaHeap(), worker: { module: entry, exportName: 'cmaHeap' } });
describeHeapConformance('bufferPool(cmaHeap())', { open: () => bufferPool(cmaHeap()) });

describe('cmaHeap() in the registry', () => {
  it("openHeap('cma') gives a cmaHeap() when this package is imported, ahead of the kernel heap", () => {
    const listed = listHeaps().filter((h) => h.name === 'reserved');
    expect(listed.map((h) => [h.provider, h.priority])).toEqual([
      ['@dmaheap/cma-heap', 10],
      ['@dmaheap/native', 0],
    ]);
    const heap = openHeap('cma');
    try {
      expect(heap.name).toBe('cma(reserved)');
      expect(heap.capabilities).toMatchObject({ contiguous: true, backing: 'kernel:cma', alignment: 4096 });
      using buf = heap.allocate(64 * 1024);
      expect(buf).toBeInstanceOf(CmaBuffer);
      expect(buf.info().exporter).toBe('reserved');
    } finally {
      heap.close();
    }
    // The kernel's own heap is still there under its other name.
    const kernel = openHeap('kernel:reserved');
    try {
      expect(kernel.capabilities.backing).toBe('kernel:reserved');
    } finally {
      kernel.close();
    }
  });

  it("openHeap('cma', options) passes the options on", () => {
    const heap = openHeap('cma', { alignOrder: 4 });
    try {
      expect(heap.capabilities.alignment).toBe(4096 * 16);
      using buf = heap.allocate(4096);
      expect(buf.size).toBe(9 * 4096); // more than 8 pages: get_order 4
    } finally {
      heap.close();
    }
  });

  it('capabilities: contiguous, the largest allocation possible now, the alignment', () => {
    const heap = cmaHeap();
    try {
      const caps = heap.capabilities;
      expect(caps.contiguous).toBe(true);
      expect(caps.regions).toEqual(['reserved']);
      expect(caps.cmaTotal).toBe(256 * 1024 * 1024);
      expect(caps.maxAllocation).toBeGreaterThan(64 * 1024 * 1024);
      expect(caps.maxAllocation).toBeLessThanOrEqual(caps.cmaTotal!);
      const before = caps.maxAllocation!;
      // Take 64 MiB out of the middle of what is free: the largest free run shrinks accordingly.
      using buf = heap.allocate(64 * 1024 * 1024);
      expect(heap.capabilities.maxAllocation).toBeLessThanOrEqual(before - 64 * 1024 * 1024);
      expect(buf.size).toBe(64 * 1024 * 1024);
    } finally {
      heap.close();
    }
  });

  it('without a CMA heap: HeapNotFoundError naming what it looked for and what is there', () => {
    let caught: unknown;
    try {
      cmaHeap({ dir: '/nonexistent' });
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).toMatch(/no CMA heap under \/nonexistent: looked for default_cma_region, linux,cma, reserved; present: none/);
    expect((caught as { code: string }).code).toBe('ERR_DMAHEAP_HEAP_NOT_FOUND');
  });

  it('the kernel CMA heap next to it, for comparison: the same exporter', () => {
    const heap = kernelHeap('reserved');
    try {
      using buf = heap.allocate(4096);
      expect(buf.info().exporter).toBe('reserved');
    } finally {
      heap.close();
    }
  });
});
