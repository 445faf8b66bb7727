// Conformance, allocation: what a heap describes of itself, fresh memory zeroed at every size, names through the
// kernel, fds given back, and a closed buffer refusing everything.
import { beforeEach, expect, it } from 'vitest';
import type { Heap } from '../types.js';
import { CONFORMANCE_SIZES, expectTypedError, KiB, openFdCount, pattern, trimIfPool } from './helpers.js';

export function describeAllocation(get: () => Heap): void {
  let heap: Heap;
  beforeEach(() => {
    heap = get();
  });
  it('describes itself', () => {
    expect(heap.specificationVersion).toBe('v1');
    expect(typeof heap.name).toBe('string');
    expect(heap.name.length).toBeGreaterThan(0);
    expect(heap.capabilities.alignment).toBeGreaterThanOrEqual(4096);
    expect(typeof heap.capabilities.contiguous).toBe('boolean');
  });

  for (const size of CONFORMANCE_SIZES) {
    it(`allocates ${size} bytes: zeroed, written through one mapping, read through another`, () => {
      const buf = heap.allocate(size, { name: 'conformance' });
      try {
        expect(buf.size).toBeGreaterThanOrEqual(size);
        expect(buf.size % 4096).toBe(0);
        const first = buf.map();
        expect(first.length).toBe(buf.size);
        buf.withCpuAccess('read', (v) => {
          // Fresh memory never shows earlier data: every byte must be zero.
          expect(v.findIndex((b) => b !== 0)).toBe(-1);
        });
        buf.withCpuAccess('write', (v) => {
          for (let i = 0; i < v.length; i += 97) v[i] = pattern(i, size);
        });
        buf.unmap();
        expect(first.length).toBe(0);
        buf.withCpuAccess('read', (second) => {
          expect(second === first, 'a new mapping after unmap').toBe(false);
          let bad = -1;
          for (let i = 0; i < second.length; i += 97) if (second[i] !== pattern(i, size)) { bad = i; break; }
          expect(bad).toBe(-1);
        });
      } finally {
        buf.close();
      }
    });
  }

  it('round-trips the name through the kernel', () => {
    using buf = heap.allocate(4 * KiB, { name: 'conf-name' });
    expect(buf.name).toBe('conf-name');
    expect(buf.info().name).toBe('conf-name');
    buf.setName('x'.repeat(31));
    expect(buf.info().name).toBe('x'.repeat(31));
    buf.setName(' spaced name ');
    expect(buf.info().name).toBe(' spaced name ');
    expect(buf.info().size).toBe(buf.size);
  });

  it('makes 100 allocations in a row and gives every fd back', () => {
    trimIfPool(heap); // what earlier tests left pooled is not this test's
    const fds = openFdCount();
    const live = heap.stats().liveBuffers;
    const bufs = Array.from({ length: 100 }, (_, i) => heap.allocate(64 * KiB, { name: `row-${i}` }));
    expect(new Set(bufs.map((b) => b.fd)).size).toBe(100);
    expect(heap.stats().liveBuffers).toBe(live + 100);
    for (const b of bufs) b.close();
    expect(heap.stats().liveBuffers).toBe(live);
    // Pools keep buffers (and their fds) for reuse; trimmed, they must give every one back, and close nothing
    // that was not theirs.
    trimIfPool(heap);
    expect(openFdCount()).toBe(fds);
  });

  it('closing twice is harmless; every method afterwards throws ERR_DMAHEAP_CLOSED', () => {
    trimIfPool(heap);
    const fds = openFdCount();
    const buf = heap.allocate(4 * KiB);
    buf.close();
    buf.close();
    expect(buf.closed).toBe(true);
    for (const call of [
      () => buf.fd,
      () => buf.map(),
      () => buf.beginCpuAccess('read'),
      () => buf.endCpuAccess('read'),
      () => buf.withCpuAccess('read', () => 0),
      () => buf.dup(),
      () => buf.setName('late'),
      () => buf.info(),
    ]) {
      expectTypedError(call, 'ERR_DMAHEAP_CLOSED');
    }
    trimIfPool(heap);
    expect(openFdCount()).toBe(fds);
  });

}
