// cmaHeap() against the real CMA allocator, in the CMA VM (cma=256M: one area, /dev/dma_heap/reserved):
// exhaustion and recovery, fallback to a second heap, partial mappings, the page list and where the
// allocator put the pages (debugfs), alignment, and what a pool saves.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DmaHeapError, OutOfMemoryError, type Heap } from '@dmaheap/core';
import { kernelHeap, mappingAddress, openFdCount } from '@dmaheap/native';
import { bufferPool } from '@dmaheap/pagepool';
import { cmaHeap, CmaBuffer, CmaOutOfMemoryError, consecutive, readCmaArea, readCmaMeminfo } from './index.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const PAGE = 4096;
const AREA = 'reserved';

function timed<T>(fn: () => T): [T, number] {
  const t0 = process.hrtime.bigint();
  const r = fn();
  return [r, Number(process.hrtime.bigint() - t0) / 1e6];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Allocates `size` until the heap says it is out of memory; returns the buffers and the error. */
function allocateUntilOut(heap: Heap, size: number, into: CmaBuffer[]): { error: unknown; ms: number[] } {
  const ms: number[] = [];
  for (;;) {
    try {
      const [buf, t] = timed(() => heap.allocate(size) as CmaBuffer);
      into.push(buf);
      ms.push(t);
    } catch (error) {
      return { error, ms };
    }
  }
}

/** The extent of the mapping that starts at `address`, from /proc/self/maps. */
function mappingLength(address: bigint): number | undefined {
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (m && BigInt(`0x${m[1]}`) === address) return Number(BigInt(`0x${m[2]}`) - address);
  }
  return undefined;
}

describe('the CMA VM', () => {
  it('has one CMA area of 256 MiB, as the heap "reserved", and shows it in sysfs and debugfs', () => {
    const meminfo = readCmaMeminfo();
    expect(meminfo.total).toBe(256 * MiB);
    const area = readCmaArea(AREA);
    expect(area.pages).toBe((256 * MiB) / PAGE);
    expect(area.basePfn).toBeGreaterThan(0);
    expect(area.orderPerBit).toBe(0);
    expect(area.allocPagesSuccess).toBeGreaterThanOrEqual(0);
    console.info(`CMA: CmaTotal ${meminfo.total! / MiB} MiB, CmaFree ${(meminfo.free! / MiB).toFixed(1)} MiB, area "${AREA}" at pfn 0x${area.basePfn!.toString(16)}, ${area.usedPages} pages used`);
  });
});

describe('exhaustion', () => {
  it('allocates until contiguous memory is used up, says so clearly, and allocates again after freeing', () => {
    const fds = openFdCount();
    const heap = cmaHeap();
    const bufs: CmaBuffer[] = [];
    try {
      const freeBefore = readCmaMeminfo().free!;
      // Largest first, then smaller, down to single pages, so nothing allocatable is left.
      const big = allocateUntilOut(heap, 16 * MiB, bufs);
      const bigCount = bufs.length;
      allocateUntilOut(heap, 1 * MiB, bufs);
      allocateUntilOut(heap, 64 * KiB, bufs);
      const beforePages = bufs.length;
      const pages = allocateUntilOut(heap, PAGE, bufs);
      const taken = bufs.reduce((n, b) => n + b.size, 0);
      const meminfo = readCmaMeminfo();
      console.info(
        `exhaustion: ${bigCount} × 16 MiB (median ${median(big.ms).toFixed(1)} ms each), then ${beforePages - bigCount} of 1 MiB and 64 KiB, ` +
          `then ${bufs.length - beforePages} single pages: ${(taken / MiB).toFixed(2)} MiB taken in ${bufs.length} buffers, ` +
          `CmaFree ${(freeBefore / MiB).toFixed(2)} MiB before, ${(meminfo.free! / KiB).toFixed(0)} KiB after`,
      );
      expect(bigCount).toBeGreaterThanOrEqual(12); // a 256 MiB area, a few pages of it used by the kernel
      expect(taken).toBeGreaterThan(240 * MiB);

      // The error: a core OutOfMemoryError that says what was asked, what CmaFree had, and what was tried.
      const err = pages.error as CmaOutOfMemoryError;
      expect(OutOfMemoryError.isInstance(err)).toBe(true);
      expect(err).toBeInstanceOf(CmaOutOfMemoryError);
      expect(err.code).toBe('ERR_DMAHEAP_OUT_OF_MEMORY');
      expect(err.heap).toBe('cma(reserved)');
      expect(err.requested).toBe(PAGE);
      expect(err.tried).toEqual([{ region: AREA, reason: expect.stringMatching(/^ENOMEM \(largest free run [\d.]+ KiB\)$/) }]);
      expect(err.cmaTotal).toBe(256 * MiB);
      expect(err.cmaFree).toBeLessThan(MiB);
      expect(err.message).toMatch(/^contiguous memory exhausted: 4096 bytes asked \(1 page\); CmaFree [\d.]+ (KiB|MiB) of CmaTotal 256 MiB; tried reserved: ENOMEM/);
      console.info(`the error: ${err.message}`);
      expect((big.error as Error).message).toMatch(/^contiguous memory exhausted: 16777216 bytes asked \(4096 pages\)/);

      // The heap knows that hardly anything can be had now; its counts are right.
      expect(heap.capabilities.maxAllocation).toBeLessThan(128 * KiB);
      expect(heap.stats()).toMatchObject({ liveBuffers: bufs.length, liveBytes: taken, failures: 4 });

      // Free half (every other buffer of the 16 MiB ones): 16 MiB fits again, 32 MiB does not (no two adjacent).
      for (let i = 0; i < bigCount; i += 2) bufs[i]!.close();
      using again = heap.allocate(16 * MiB);
      expect(again.size).toBe(16 * MiB);
      again.withCpuAccess('readwrite', (v) => {
        expect(v[0]).toBe(0);
        v[v.length - 1] = 1;
      });
      expect(() => heap.allocate(32 * MiB)).toThrow(/contiguous memory exhausted: 33554432 bytes asked/);
    } finally {
      for (const b of bufs) b.close();
      heap.close();
    }
    // All freed: the whole area can be had in one piece again.
    const heap2 = cmaHeap();
    try {
      const [whole, ms] = timed(() => heap2.allocate(192 * MiB));
      console.info(`after freeing everything: 192 MiB in one buffer in ${ms.toFixed(1)} ms`);
      whole.close();
    } finally {
      heap2.close();
    }
    expect(openFdCount()).toBe(fds);
  });
});

describe('fallback to a second heap', () => {
  // On x86 the kernel's CMA heap serves only the default CMA area (cma_heap.c adds dev_get_cma_area(NULL));
  // `cma=` makes one area, and further areas (numa_cma=, cma_pernuma=, hugetlb_cma=) are not heaps; a second
  // CMA heap needs a device tree reserved-memory node (and a newer kernel). So the second heap here is the
  // kernel's system heap, standing in: named by the caller, it is known not to be CMA (sysfs lists the areas).
  it("moves on to the next heap when the first is full: cmaHeap({ names: ['reserved', 'system'] })", () => {
    const fds = openFdCount();
    const heap = cmaHeap({ names: [AREA, 'system'] });
    const bufs: CmaBuffer[] = [];
    try {
      expect(heap.capabilities.regions).toEqual([AREA, 'system']);
      expect(heap.capabilities.contiguous).toBe(false); // the stand-in is not contiguous memory
      for (let i = 0; i < 40; i++) {
        const buf = heap.allocate(16 * MiB);
        bufs.push(buf);
        if (buf.region === 'system') break;
      }
      const last = bufs.at(-1)!;
      expect(last.region).toBe('system');
      expect(last.info().exporter).toBe('system');
      expect(last.placement.contiguous).toBeUndefined();
      for (const b of bufs.slice(0, -1)) {
        expect(b.region).toBe(AREA);
        expect(b.info().exporter).toBe(AREA);
      }
      expect(bufs.length).toBeGreaterThanOrEqual(13);
      expect(heap.stats()).toMatchObject({ fallbacks: 1, regions: { reserved: { allocations: bufs.length - 1, cma: true }, system: { allocations: 1, cma: false } } });
      // The buffer from the stand-in works like any other.
      last.withCpuAccess('readwrite', (v) => {
        v[12345] = 7;
        expect(v[12345]).toBe(7);
      });
      // Free one CMA buffer: the next allocation comes from the first heap again.
      bufs.shift()!.close();
      using back = heap.allocate(16 * MiB);
      expect(back.region).toBe(AREA);
    } finally {
      for (const b of bufs) b.close();
      heap.close();
    }
    expect(openFdCount()).toBe(fds);
  });

  it('when every heap is out, the error lists each one tried', () => {
    const heap = cmaHeap({ names: [AREA, 'system'] });
    try {
      // More than the machine has: the CMA area refuses, the system heap is not even asked (MemAvailable).
      let caught: unknown;
      try {
        heap.allocate(4096 * MiB);
      } catch (err) {
        caught = err;
      }
      const err = caught as CmaOutOfMemoryError;
      expect(err).toBeInstanceOf(CmaOutOfMemoryError);
      expect(err.tried.map((t) => t.region)).toEqual([AREA, 'system']);
      expect(err.tried[1]!.reason).toMatch(/^MemAvailable is [\d.]+ MiB$/);
      expect(err.message).toMatch(/tried reserved: ENOMEM.*, system: MemAvailable is/);
    } finally {
      heap.close();
    }
  });
});

describe('partial mappings', () => {
  it('a 32 MiB buffer: written through one page-range mapping, read through another', () => {
    const fds = openFdCount();
    const heap = cmaHeap();
    try {
      const buf = heap.allocate(32 * MiB);
      const text = Buffer.from('only these pages are mapped');
      const at = 20 * MiB + 3000; // bytes 3000..8000 of the 21st MiB: they straddle a page boundary
      buf.beginCpuAccess('write');
      const w = buf.map(at, 5000);
      expect(w.length).toBe(5000);
      // Only the two pages holding those bytes are mapped.
      expect(mappingLength(mappingAddress(w.buffer as ArrayBuffer))).toBe(2 * PAGE);
      w.set(text, 0);
      w.set(text, 5000 - text.length);
      buf.endCpuAccess('write');
      expect(buf.mapped).toBe(false); // the whole buffer never was

      // Read through a different range: the 1 MiB around it, a mapping of its own.
      buf.beginCpuAccess('read');
      const r = buf.map(20 * MiB, MiB);
      expect(r.buffer).not.toBe(w.buffer);
      expect(mappingLength(mappingAddress(r.buffer as ArrayBuffer))).toBe(MiB);
      expect(Buffer.from(r.subarray(3000, 3000 + text.length)).equals(text)).toBe(true);
      expect(Buffer.from(r.subarray(8000 - text.length, 8000)).equals(text)).toBe(true);
      expect(r[2999]).toBe(0);
      expect(r[8000]).toBe(0);
      // The same range again is the same mapping; a third range at the far end reads zeros.
      expect(buf.map(at, 5000).buffer).toBe(w.buffer);
      expect(buf.map(32 * MiB - PAGE, PAGE).every((b) => b === 0)).toBe(true);
      buf.endCpuAccess('read');
      expect(buf.mappedRanges).toBe(3);

      // unmap(view) drops one range; the others stay.
      buf.unmap(r);
      expect(r.length).toBe(0);
      expect(buf.mappedRanges).toBe(2);
      expect(w[0]).toBe(text[0]);

      // Bad ranges are refused before the kernel is asked.
      for (const [o, l] of [[-1, 10], [0, 0], [32 * MiB, 1], [32 * MiB - 10, 11], [0.5, 10]] as const) {
        let caught: unknown;
        try {
          buf.map(o, l);
        } catch (err) {
          caught = err;
        }
        expect(DmaHeapError.isInstance(caught) && caught.code).toBe('ERR_DMAHEAP_INVALID_ARGUMENT');
      }

      // Closing unmaps every range: their views are detached.
      buf.close();
      expect(w.length).toBe(0);
      expect(buf.mappedRanges).toBe(0);
      expect(() => buf.map(0, PAGE)).toThrow(/closed/);
    } finally {
      heap.close();
    }
    expect(openFdCount()).toBe(fds);
  });
});

describe('the page list, and where the allocator put the pages', () => {
  it('every buffer has its page list; with locate, its frames are one run inside the area (debugfs bitmap)', () => {
    const area = readCmaArea(AREA);
    const heap = cmaHeap({ locate: true });
    try {
      const used = area.usedPages!;
      const buf = heap.allocate(3 * MiB + 5000);
      try {
        expect(buf.pageList.count).toBe(buf.size / PAGE);
        expect(buf.pageList.pageSize).toBe(PAGE);
        expect(buf.placement.contiguous).toBe(true);
        const pfns = buf.pageList.pfns!;
        expect(pfns.length).toBe(buf.pageList.count);
        expect(consecutive(pfns)).toBe(true);
        const base = BigInt(area.basePfn!);
        expect(pfns[0]! >= base && pfns.at(-1)! < base + BigInt(area.pages!)).toBe(true);
        // The allocator's own count went up by exactly this buffer.
        expect(readCmaArea(AREA).usedPages).toBe(used + buf.pageList.count);
        // The kernel aligns to 2^min(get_order(size), 8) pages: 3 MiB + 5000 bytes is order 10, so 1 MiB.
        if (buf.placement.contiguous) expect(buf.placement.alignOrder).toBeGreaterThanOrEqual(8);
      } finally {
        buf.close();
      }
      expect(readCmaArea(AREA).usedPages).toBe(used);
      // Without locate the page list has no frames, and the placement says why.
      const plain = cmaHeap();
      try {
        using b = plain.allocate(PAGE);
        expect(b.pageList).toEqual({ pageSize: PAGE, count: 1 });
        expect(b.placement).toEqual({ contiguous: undefined, reason: 'not located (option locate)' });
      } finally {
        plain.close();
      }
    } finally {
      heap.close();
    }
  });

  it('alignOrder: a small buffer is padded so the kernel aligns it, and the frames show it', () => {
    const heap = cmaHeap({ locate: true, alignOrder: 8 });
    // A page-sized hole first, so an unaligned allocation would land at an odd frame.
    const spacer = cmaHeap();
    try {
      expect(heap.capabilities.alignment).toBe(MiB);
      using hole = spacer.allocate(PAGE);
      for (let i = 0; i < 4; i++) {
        using buf = heap.allocate(PAGE);
        expect(buf.size).toBe(129 * PAGE);
        expect(buf.placement.contiguous).toBe(true);
        if (buf.placement.contiguous) expect(buf.placement.firstPfn % 256n).toBe(0n);
      }
      // Per allocation, too; orders above the kernel's CONFIG_CMA_ALIGNMENT are refused.
      using b4 = heap.allocate(PAGE, { alignOrder: 2 });
      expect(b4.size).toBe(3 * PAGE);
      if (b4.placement.contiguous) expect(b4.placement.firstPfn % 4n).toBe(0n);
      expect(() => heap.allocate(PAGE, { alignOrder: 9 })).toThrow(/"alignOrder" in allocate options must be an integer from 0 to 8/);
      expect(() => cmaHeap({ alignOrder: -1 })).toThrow(/alignOrder/);
      expect(hole.size).toBe(PAGE);
    } finally {
      spacer.close();
      heap.close();
    }
  });
});

describe('what a pool saves: bufferPool(cmaHeap())', () => {
  const report: string[] = [];
  afterAll(() => console.info(`allocate + close, median of 15, ms (TCG; the CMA area otherwise idle):\n${report.join('\n')}`));

  // Allocation and close are timed (a pool zeroes a buffer on close when the CPU or a device could have
  // written it); the CPU access in between is not. Speed is reported, never asserted.
  const measure = (heap: Heap, size: number, write: boolean) => {
    const ms: number[] = [];
    for (let i = 0; i < 15; i++) {
      const [buf, tAlloc] = timed(() => heap.allocate(size));
      if (write) {
        buf.withCpuAccess('readwrite', (v) => {
          expect(v[0]! | v[v.length - 1]!).toBe(0);
          v[0] = 1;
          v[v.length - 1] = 1;
        });
      }
      const [, tClose] = timed(() => buf.close());
      ms.push(tAlloc + tClose);
    }
    return median(ms);
  };

  for (const size of [64 * KiB, 1 * MiB, 8 * MiB]) {
    it(`${size / KiB} KiB: one miss then hits; written buffers come back zeroed`, () => {
      const cma = cmaHeap();
      const pool = bufferPool(cmaHeap());
      const cleanPool = bufferPool(cmaHeap());
      const system = kernelHeap('system');
      try {
        const tCma = measure(cma, size, true);
        const tPool = measure(pool, size, true);
        const tClean = measure(cleanPool, size, false);
        const tCmaClean = measure(cma, size, false);
        const tSystem = measure(system, size, true);
        expect(pool.stats()).toMatchObject({ misses: 1, hits: 14, zeroed: 15 });
        expect(cleanPool.stats()).toMatchObject({ misses: 1, hits: 14, zeroed: 0 });
        report.push(
          `  ${String(size / KiB).padStart(5)} KiB written: cmaHeap() ${tCma.toFixed(2)}, bufferPool(cmaHeap()) ${tPool.toFixed(2)}, kernel system heap ${tSystem.toFixed(2)}; ` +
            `never mapped: cmaHeap() ${tCmaClean.toFixed(2)}, bufferPool(cmaHeap()) ${tClean.toFixed(2)}`,
        );
      } finally {
        cma.close();
        pool.close();
        cleanPool.close();
        system.close();
      }
    });
  }
});
