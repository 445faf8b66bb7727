// Conformance, lifetimes: buffers outlive their heap, dup()s outlive their buffers, views keep their buffers, and
// a closed handle pins nothing; no fd another file took is ever touched.
import { closeSync, fstatSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { setLeakHandler, type DmaBuf } from '../dmabuf.js';
import type { ConformanceOptions } from './index.js';
import { Canaries, collectGarbage, HAS_GC, KiB, MiB, openFdCount, pattern, trimIfPool } from './helpers.js';

export function describeLifetimes(options: ConformanceOptions): void {
  describe('lifetimes', () => {
    const SIZE = 1 << 20;
    const pattern = (i: number) => 0x41 + (i % 0x90);

    it('buffers stay valid after heap.close(), and their closing touches no file opened since', async () => {
      const start = openFdCount();
      const h = await options.open();
      const bufs: DmaBuf[] = [];
      // Written, mapped and left mapped, never mapped, handed out (a dup closed at once), named.
      for (let i = 0; i < 5; i++) bufs.push(h.allocate(i === 2 ? 4096 : SIZE, i === 4 ? { name: 'after-close' } : undefined));
      bufs[0]!.withCpuAccess('write', (v) => v.fill(pattern(0)));
      bufs[1]!.withCpuAccess('write', (v) => v.fill(pattern(1)));
      bufs[0]!.unmap();
      const dup = bufs[3]!.dup();
      closeSync(dup);
      h.allocate(SIZE).close(); // something in the pool, if it has one
      h.close();
      // Files opened now take the lowest free numbers: those the heap just closed among them.
      const canaries = new Canaries();
      try {
        for (const [i, b] of bufs.entries()) {
          if (i <= 1) b.withCpuAccess('read', (v) => expect(v.findIndex((x) => x !== pattern(i)), `buffer ${i} after heap.close()`).toBe(-1));
          b.close();
          canaries.check(`after buffer ${i} closed (heap closed before)`);
        }
      } finally {
        canaries.close();
      }
      expect(openFdCount()).toBe(start);
    });

    it('a dup() outlives its buffer and the heap, with the data in it', async () => {
      const start = openFdCount();
      const h = await options.open();
      const buf = h.allocate(SIZE);
      buf.withCpuAccess('write', (v) => v.fill(0x6d));
      const fd = buf.dup();
      buf.close();
      h.close();
      const canaries = new Canaries();
      try {
        const again = await options.open();
        const other = again.allocate(SIZE);
        other.withCpuAccess('readwrite', (v) => {
          expect(v.findIndex((x) => x !== 0), 'a new heap\'s buffer while the dup holds the old one').toBe(-1);
          v.fill(0x11);
        });
        expect(fstatSync(fd).size, 'the dup is still the dma-buf').toBe(SIZE);
        other.close();
        again.close();
        canaries.check('after the dup outlived its heap');
      } finally {
        canaries.close();
        closeSync(fd);
      }
      expect(openFdCount()).toBe(start);
    });

    it.skipIf(!HAS_GC)('a view keeps its buffer alive: a dropped buffer with a live view never aliases later ones', async () => {
      const start = openFdCount();
      const h = await options.open();
      const leaks: string[] = [];
      const previous = setLeakHandler((l) => leaks.push(l.name ?? ''));
      try {
        const kept = (() => {
          const b = h.allocate(SIZE, { name: 'dropped-with-view' });
          const v = b.map();
          v.fill(0x5c);
          return { view: v as Uint8Array | undefined };
        })();
        await collectGarbage();
        expect(leaks, 'no leak report while a view of the buffer is alive').toEqual([]);
        const fresh = Array.from({ length: 4 }, () => h.allocate(SIZE));
        for (const f of fresh) f.withCpuAccess('read', (v) => expect(v.findIndex((x) => x !== 0), 'a buffer allocated beside a live view').toBe(-1));
        kept.view!.fill(0xe1);
        for (const f of fresh) {
          f.withCpuAccess('readwrite', (v) => {
            expect(v.findIndex((x) => x !== 0), 'a write through the old view showed in a new buffer').toBe(-1);
            v.fill(0x42);
          });
        }
        expect(kept.view!.findIndex((x) => x !== 0xe1), 'a new buffer\'s write showed through the old view').toBe(-1);
        for (const f of fresh) f.close();
        // Now the view goes too: the buffer is collected, reported, and its memory comes back zeroed.
        kept.view = undefined;
        await collectGarbage();
        await new Promise((r) => setTimeout(r, 250)); // deferred frees are checked every 100 ms
        expect(leaks).toEqual(['dropped-with-view']);
        const after = Array.from({ length: 4 }, () => h.allocate(SIZE));
        for (const f of after) f.withCpuAccess('read', (v) => expect(v.findIndex((x) => x !== 0), 'a buffer after the leaked one was collected').toBe(-1));
        for (const f of after) f.close();
      } finally {
        setLeakHandler(previous);
        h.close();
      }
      expect(openFdCount()).toBe(start);
    });
    it.skipIf(!HAS_GC)('a closed handle the program keeps pins nothing: a buffer lost later is still collected and released', async () => {
      const start = openFdCount();
      const h = await options.open();
      const leaks: number[] = [];
      const previous = setLeakHandler((l) => leaks.push(l.size));
      try {
        // Closed and kept, with a view of it (detached now), as programs keep handles in arrays; a pool hands
        // the same buffer out again, to a handle that is then lost.
        const closed = h.allocate(SIZE);
        const view = closed.map();
        view.fill(0x3b);
        closed.close();
        (() => h.allocate(SIZE).withCpuAccess('write', (v) => v.fill(0x3c)))();
        for (let i = 0; i < 20 && leaks.length === 0; i++) await collectGarbage(2);
        expect(leaks, 'the lost buffer is collected while the closed one is still held').toHaveLength(1);
        expect([closed.closed, view.length]).toEqual([true, 0]);
        expect(h.stats().liveBuffers, 'the lost buffer left the heap\'s count of live buffers').toBe(0);
      } finally {
        setLeakHandler(previous);
        h.close();
      }
      await new Promise((r) => setTimeout(r, 250)); // deferred frees are checked every 100 ms
      expect(openFdCount()).toBe(start);
    });
  });

}
