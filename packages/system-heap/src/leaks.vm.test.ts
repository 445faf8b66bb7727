// Leaks: many allocate/close cycles per heap and per pool, with the open-fd count, RSS and Shmem stable and
// all pool memory given back by trim(). DMAHEAP_SOAK=1 runs ten times more cycles (before closing an issue).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Heap } from '@dmaheap/core';
import { kernelHeap, openFdCount } from '@dmaheap/native';
import { bufferPool } from '@dmaheap/pagepool';
import { systemHeap } from './index.js';

const CYCLES = Number(process.env.DMAHEAP_LEAK_CYCLES ?? (process.env.DMAHEAP_SOAK === '1' ? 1_000_000 : 100_000));
const SIZES = [4096, 65_536, 1 << 20, 4096, 12_288];

function meminfo(field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
}
function rss(): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
}

const HEAPS: Array<[string, () => Heap & { trim?: (t?: number) => number }]> = [
  ["kernelHeap('system')", () => kernelHeap('system')],
  ['systemHeap()', () => systemHeap()],
  ["bufferPool(kernelHeap('system'))", () => bufferPool(kernelHeap('system'))],
  ['bufferPool(systemHeap())', () => bufferPool(systemHeap())],
];

describe(`${CYCLES} allocate/close cycles leave nothing behind`, () => {
  for (const [label, open] of HEAPS) {
    it(label, { timeout: 30 * 60_000 }, () => {
      const fds0 = openFdCount();
      const heap = open();
      const shmem0 = meminfo('Shmem');
      // Warm up (JIT, pools, arenas), then measure RSS from there.
      for (let i = 0; i < 2000; i++) heap.allocate(SIZES[i % SIZES.length]!).close();
      globalThis.gc?.();
      const rss1 = rss();
      const fds1 = openFdCount();
      const started = Date.now();
      for (let i = 0; i < CYCLES; i++) {
        const b = heap.allocate(SIZES[i % SIZES.length]!);
        if (i % 1000 === 0) b.withCpuAccess('write', (v) => v.fill(1)); // some dirty ones, so zeroing runs too
        b.close();
      }
      const seconds = (Date.now() - started) / 1000;
      globalThis.gc?.();
      const rss2 = rss();
      const fds2 = openFdCount();
      heap.trim?.(0);
      const shmemTrimmed = meminfo('Shmem');
      const live = heap.stats();
      heap.close();
      console.log(
        `${label}: ${CYCLES} cycles in ${seconds.toFixed(1)} s; fds ${fds0} → ${fds1} → ${fds2} → ${openFdCount()}; ` +
          `RSS ${(rss1 / 2 ** 20).toFixed(1)} → ${(rss2 / 2 ** 20).toFixed(1)} MiB; Shmem ${(shmem0 / 2 ** 20).toFixed(1)} → ${(shmemTrimmed / 2 ** 20).toFixed(1)} MiB after trim`,
      );
      expect(fds2).toBe(fds1); // nothing accumulates while cycling
      expect(openFdCount()).toBe(fds0); // and closing the heap gives back its own fds
      expect(live).toMatchObject({ liveBuffers: 0, liveBytes: 0 });
      // RSS may grow a little (JIT code, heap growth) but not with the number of cycles: 16 MiB of slack.
      expect(rss2 - rss1).toBeLessThan(16 * 2 ** 20);
      // Pooled memfd pages are Shmem; after trim() they are back with the kernel (4 MiB of slack for others).
      expect(shmemTrimmed - shmem0).toBeLessThan(4 * 2 ** 20);
    });
  }
});
