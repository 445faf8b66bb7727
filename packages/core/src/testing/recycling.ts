// Conformance, recycling: for heaps that declare it (`supports.trim`, `supports.collectDeferred`), what they keep
// for reuse goes back when asked, and a buffer something else still holds is never handed out until it lets go.
// Heaps that declare neither are checked to do nothing and return 0.
import { closeSync } from 'node:fs';
import { beforeEach, expect, it } from 'vitest';
import type { DmaBuf } from '../dmabuf.js';
import type { Heap } from '../types.js';
import { KiB, openFdCount } from './helpers.js';

export function describeRecycling(get: () => Heap): void {
  let heap: Heap;
  beforeEach(() => {
    heap = get();
  });

  it('trim(0) gives back every pooled buffer and fd; a heap without trim gives back nothing', () => {
    heap.trim(0);
    const fds = openFdCount();
    const bufs = Array.from({ length: 8 }, () => heap.allocate(64 * KiB));
    for (const b of bufs) b.close();
    const kept = openFdCount() - fds;
    const given = heap.trim(0);
    expect(openFdCount()).toBe(fds);
    if (heap.supports.trim) {
      expect(given, 'bytes given back by trim(0)').toBeGreaterThanOrEqual(0);
      expect(heap.trim(0), 'a second trim(0) finds nothing').toBe(0);
    } else {
      expect(kept, 'fds a heap without a pool kept').toBe(0);
      expect(given).toBe(0);
    }
  });

  it('a closed buffer another fd still holds is not handed out again until that fd is closed', () => {
    heap.trim(0);
    const first = heap.allocate(64 * KiB);
    first.withCpuAccess('write', (v) => v.fill(0x5a));
    const held = first.dup();
    first.close();
    const during: DmaBuf[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const b = heap.allocate(64 * KiB);
        during.push(b);
        // Zero: had the pool handed the held buffer out again, this would read its 0x5a.
        expect(b.withCpuAccess('read', (v) => v.findIndex((x) => x !== 0))).toBe(-1);
        b.withCpuAccess('write', (v) => v.fill(0xc3));
      }
      // A heap that defers counts it as still held; one that does not has let its own fd go already.
      if (heap.supports.collectDeferred) expect(heap.collectDeferred(), 'still held by the dup').toBeGreaterThanOrEqual(1);
      else expect(heap.collectDeferred()).toBe(0);
    } finally {
      for (const b of during) b.close();
      closeSync(held);
    }
    if (heap.supports.collectDeferred) expect(heap.collectDeferred(), 'nothing held any more').toBe(0);
    heap.trim(0);
  });
}
