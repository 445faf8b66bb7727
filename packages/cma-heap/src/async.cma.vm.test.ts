// allocateAsync on the kernel's CMA heap, in the CMA VM (cma=256M: one area, /dev/dma_heap/reserved): the ioctl
// runs on libuv's thread pool, so timers keep firing while the kernel migrates movable pages out of the area and
// clears the buffer, where allocate() blocks the event loop throughout; and allocateAsync gives what allocate
// gives (placement, fallback, exhaustion error, counts) for cmaHeap() and for the kernel heap itself.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ClosedError, DmaHeapError } from '@dmaheap/core';
import { closeFd, fallocate, kernelHeap, memfdCreate, openFdCount } from '@dmaheap/native';
import { cmaHeap, CmaBuffer, CmaOutOfMemoryError, readCmaMeminfo } from './index.js';

const MiB = 1024 * 1024;
const AREA = 'reserved';

function meminfo(field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
}

/**
 * Puts movable pages into the CMA area, so a large CMA allocation has to migrate them out first. The kernel
 * places movable allocations in CMA pageblocks once more than half of the free memory is CMA (6.12's __rmqueue),
 * so memory is filled with shmem (64 MiB fallocated into a memfd at a time) until CmaFree is down to `cmaFree`;
 * then the memfds whose pages all went elsewhere are closed, which leaves plenty of free memory to migrate to.
 * Returns the memfds kept (close them to free their pages) and how much of the area they hold.
 */
function fillAreaWithMovablePages(cmaFree: number): { kept: number[]; inArea: number } {
  const chunk = 64 * MiB;
  const chunks: Array<{ fd: number; tookFromArea: number }> = [];
  const startFree = readCmaMeminfo().free!;
  try {
    // Never below 192 MiB of free memory: everything else in the guest (vitest, this Node) keeps running.
    while (readCmaMeminfo().free! > cmaFree && meminfo('MemFree') > 192 * MiB + chunk && chunks.length < 64) {
      const before = readCmaMeminfo().free!;
      const fd = memfdCreate('cma-pressure');
      chunks.push({ fd, tookFromArea: 0 });
      fallocate(fd, 0, chunk);
      chunks.at(-1)!.tookFromArea = before - readCmaMeminfo().free!;
    }
  } catch (err) {
    for (const c of chunks) closeFd(c.fd);
    throw err;
  }
  const kept: number[] = [];
  for (const c of chunks) {
    if (c.tookFromArea > 0) kept.push(c.fd);
    else closeFd(c.fd);
  }
  return { kept, inArea: startFree - readCmaMeminfo().free! };
}

/** Runs `allocate` with a 10 ms interval timer going: the ticks it saw, how long it took, the longest gap. */
async function ticking<T>(allocate: () => T | Promise<T>): Promise<{ result: T; ticks: number; ms: number; longestGapMs: number }> {
  let ticks = 0;
  let last = performance.now();
  let longestGapMs = 0;
  const t0 = last;
  const timer = setInterval(() => {
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
    ticks++;
  }, 10);
  try {
    const result = await allocate();
    const end = performance.now();
    return { result, ticks, ms: end - t0, longestGapMs: Math.max(longestGapMs, end - last) };
  } finally {
    clearInterval(timer);
  }
}

describe('allocateAsync: the event loop runs while the kernel allocates contiguous memory', () => {
  it('192 MiB of the 256 MiB area, the area filled with movable pages first: timers fire during allocateAsync, never during allocate', async () => {
    const fds = openFdCount();
    const heap = cmaHeap();
    expect(heap.supports.asyncAllocation).toBe(true);
    const size = 192 * MiB;
    const target = readCmaMeminfo().total! * 0.7; // 30 % of the area taken by movable pages
    const runs: Record<'sync' | 'async', { ms: number; ticks: number; longestGapMs: number; inArea: number; migrated: number }> = {} as never;
    try {
      for (const mode of ['sync', 'async'] as const) {
        const { kept, inArea } = fillAreaWithMovablePages(target);
        try {
          // The test kernel counts no vm events (pgmigrate_success): what left the area is seen in CmaFree. Without
          // migration it would drop by the buffer's size; it drops by less, as much less as was moved out.
          const freeBefore = readCmaMeminfo().free!;
          const r = await ticking(() => (mode === 'sync' ? heap.allocate(size) : heap.allocateAsync(size)));
          const migrated = readCmaMeminfo().free! - (freeBefore - size);
          expect(r.result).toBeInstanceOf(CmaBuffer);
          expect(r.result.size).toBe(size);
          r.result.withCpuAccess('readwrite', (v) => {
            expect(v[0]).toBe(0);
            expect(v[size - 1]).toBe(0);
            v[size - 1] = 1;
          });
          r.result.close();
          runs[mode] = { ms: r.ms, ticks: r.ticks, longestGapMs: r.longestGapMs, inArea, migrated };
        } finally {
          for (const fd of kept) closeFd(fd);
        }
      }
    } finally {
      heap.close();
    }
    const line = (m: 'sync' | 'async') =>
      `${runs[m].ms.toFixed(0)} ms, ${runs[m].ticks} ticks of a 10 ms timer (longest gap ${runs[m].longestGapMs.toFixed(0)} ms), ` +
      `${(runs[m].inArea / MiB).toFixed(0)} MiB of movable pages in the area, ${(runs[m].migrated / MiB).toFixed(0)} MiB migrated`;
    console.info(`192 MiB from the CMA heap: allocate ${line('sync')}; allocateAsync ${line('async')}`);
    expect(openFdCount()).toBe(fds);
    // The area held movable pages, and the allocations moved them out.
    for (const m of ['sync', 'async'] as const) {
      expect(runs[m].inArea, m).toBeGreaterThan(32 * MiB);
      expect(runs[m].migrated, m).toBeGreaterThan(0);
    }
    expect(runs.sync.ticks).toBe(0);
    // A 10 ms timer fires at least once for every 100 ms the allocation takes (it takes seconds under emulation).
    expect(runs.async.ms).toBeGreaterThan(100);
    expect(runs.async.ticks).toBeGreaterThanOrEqual(Math.floor(runs.async.ms / 100));
  });

  it("kernelHeap('reserved').allocateAsync: the same, through the native package's kernel heap", async () => {
    const fds = openFdCount();
    const heap = kernelHeap(AREA);
    expect(heap.supports.asyncAllocation).toBe(true);
    try {
      const r = await ticking(() => heap.allocateAsync(128 * MiB, { name: 'async-kernel' }));
      console.info(`128 MiB through kernelHeap('${AREA}').allocateAsync: ${r.ms.toFixed(0)} ms, ${r.ticks} ticks of a 10 ms timer`);
      expect(r.result.info()).toMatchObject({ size: 128 * MiB, exporter: AREA, name: 'async-kernel' });
      r.result.close();
      if (r.ms > 100) expect(r.ticks).toBeGreaterThan(0);
      expect(heap.stats()).toMatchObject({ allocations: 1, failures: 0, liveBuffers: 0 });
    } finally {
      heap.close();
    }
    expect(openFdCount()).toBe(fds);
  });
});

describe('allocateAsync gives what allocate gives', () => {
  it('placement and alignment (locate), fallback to a second heap, the exhaustion error, the counts', async () => {
    const fds = openFdCount();
    const heap = cmaHeap({ names: [AREA, 'system'], locate: true });
    const bufs: CmaBuffer[] = [];
    try {
      const aligned = await heap.allocateAsync(4 * MiB, { alignOrder: 8, name: 'aligned' });
      bufs.push(aligned);
      expect(aligned.region).toBe(AREA);
      expect(aligned.info()).toMatchObject({ exporter: AREA, name: 'aligned' });
      expect(aligned.placement).toMatchObject({ contiguous: true });
      if (aligned.placement.contiguous) expect(aligned.placement.alignOrder).toBeGreaterThanOrEqual(8);
      expect(aligned.pageList.count).toBe((4 * MiB) / 4096);
      // Until the area is full, then the stand-in.
      for (let i = 0; i < 40 && bufs.at(-1)!.region === AREA; i++) bufs.push(await heap.allocateAsync(16 * MiB));
      expect(bufs.at(-1)!.region).toBe('system');
      expect(heap.stats()).toMatchObject({ fallbacks: 1, allocations: bufs.length, failures: 0 });
      // Every heap out: the same CmaOutOfMemoryError as allocate's, counted as a failure the same way.
      const errors: unknown[] = [];
      try {
        heap.allocate(4096 * MiB);
      } catch (e) {
        errors.push(e);
      }
      errors.push(await heap.allocateAsync(4096 * MiB).then(() => undefined, (e: unknown) => e));
      const [sync, async] = errors as [CmaOutOfMemoryError, CmaOutOfMemoryError];
      expect(async).toBeInstanceOf(CmaOutOfMemoryError);
      // (What MemAvailable and CmaFree had differs between the two moments.)
      const steady = (s: string) => s.replace(/(CmaFree|MemAvailable is) [\d.]+ \w+/g, '$1 …');
      expect(async.tried.map((t) => ({ ...t, reason: steady(t.reason) }))).toEqual(sync.tried.map((t) => ({ ...t, reason: steady(t.reason) })));
      expect(steady(async.message)).toBe(steady(sync.message));
      expect(heap.stats()).toMatchObject({ failures: 2 });
      // Bad input: allocate's typed errors, before any ioctl.
      for (const [size, options] of [[0, undefined], [4096, { alignOrder: 9 }], [4096, { bogus: 1 }]] as const) {
        let thrown: unknown;
        try {
          heap.allocate(size, options as object);
        } catch (e) {
          thrown = e;
        }
        const rejected = await heap.allocateAsync(size, options as object).then(() => undefined, (e: unknown) => e);
        expect(DmaHeapError.isInstance(rejected)).toBe(true);
        expect(rejected).toMatchObject({ code: (thrown as DmaHeapError).code, message: (thrown as Error).message });
      }
      expect(heap.stats()).toMatchObject({ failures: 2, liveBuffers: bufs.length });
    } finally {
      for (const b of bufs) b.close();
      heap.close();
    }
    // Closed while the kernel allocates: ClosedError, the new fd closed.
    const closing = cmaHeap();
    const pending = closing.allocateAsync(64 * MiB);
    closing.close();
    expect(await pending.then(() => undefined, (e: unknown) => e)).toBeInstanceOf(ClosedError);
    expect(openFdCount()).toBe(fds);
  });
});
