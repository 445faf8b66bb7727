// The conformance suite on 16 KiB pages (Debian's arm64-16k kernel, in the arm64 guest): systemHeap() and
// bufferPool(systemHeap()), whose orders, arenas and size classes follow the page size. (That kernel has no
// dma-buf heaps: CONFIG_DMABUF_HEAPS is not set in Debian's arm64 configurations.)
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE as CORE_PAGE_SIZE } from '@dmaheap/core';
import { describeHeapConformance } from '@dmaheap/core/testing';
import { PAGE_SIZE } from '@dmaheap/native';
import { bufferPool } from '@dmaheap/pagepool';
import { systemHeap } from './index.js';

describe('the page size', () => {
  it('is 16 KiB, and core (AT_PAGESZ) and native (sysconf) agree', () => {
    expect(PAGE_SIZE).toBe(16384);
    expect(CORE_PAGE_SIZE).toBe(16384);
  });

  it('sizes round to 16 KiB pages; a pool hits for every size in a page', () => {
    const pool = bufferPool(systemHeap(), { pressure: false });
    try {
      for (const size of [1, 4096, 16384]) pool.allocate(size).close();
      expect(pool.stats()).toMatchObject({ misses: 1, hits: 2 });
      const b = pool.allocate(16385);
      expect(b.size).toBe(32768);
      b.close();
    } finally {
      pool.close();
    }
  });
});

describeHeapConformance('systemHeap() on 16 KiB pages', { open: () => systemHeap() });
describeHeapConformance('bufferPool(systemHeap()) on 16 KiB pages', { open: () => bufferPool(systemHeap()) });
