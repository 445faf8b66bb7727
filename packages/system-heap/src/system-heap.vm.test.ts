// systemHeap's own design points, against the real kernel: order selection, never climbing back up,
// udmabuf's limits as typed errors, skip-sync, and background refill.
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DmaHeapError } from '@dmaheap/core';
import { dmaBufOps, openFdCount, readFdInfo, readUdmabufLimits } from '@dmaheap/native';
import { systemHeap, type SystemHeap } from './index.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const heaps: SystemHeap[] = [];
afterEach(() => heaps.splice(0).forEach((h) => h.close()));
function open(options?: Parameters<typeof systemHeap>[0]): SystemHeap {
  const h = systemHeap(options);
  heaps.push(h);
  return h;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return DmaHeapError.isInstance(e) ? e.code : `untyped: ${String(e)}`;
  }
  return undefined;
}

describe('systemHeap: higher orders first', () => {
  it('takes the largest chunks that fit: 8 MiB is eight 1 MiB chunks, 1 MiB + 68 KiB is one of each order', () => {
    const heap = open();
    heap.allocate(8 * MiB).close();
    expect(heap.stats().chunksHandedOut).toEqual({ 8: 8 });
    heap.allocate(MiB + 68 * KiB).close();
    expect(heap.stats().chunksHandedOut).toEqual({ 8: 9, 4: 1, 0: 1 });
  });

  it('falls back to smaller orders when large ones cannot be had, and never climbs back up', () => {
    // One arena of 2 MiB. Sixteen 64 KiB buffers, freed, leave sixteen order-4 chunks in the pool.
    const heap = open({ arenaBytes: 2 * MiB, maxBytes: 2 * MiB });
    Array.from({ length: 16 }, () => heap.allocate(64 * KiB)).forEach((b) => b.close());
    const big = heap.allocate(MiB); // the other half of the arena, as one 1 MiB chunk
    expect(heap.stats().chunksHandedOut).toEqual({ 8: 1, 4: 16 });
    // No 1 MiB chunk can be had now: 1 MiB comes from the pooled 64 KiB chunks, and works.
    const fallback = heap.allocate(MiB);
    expect(heap.stats().chunksHandedOut).toEqual({ 8: 1, 4: 32 });
    fallback.withCpuAccess('readwrite', (v) => {
      expect(v.every((b) => b === 0)).toBe(true);
      v.fill(9);
      expect(v[v.length - 1]).toBe(9);
    });
    // Nothing left at all: a typed out-of-memory error, and the heap works again after a free.
    expect(codeOf(() => heap.allocate(4 * KiB))).toBe('ERR_DMAHEAP_OUT_OF_MEMORY');
    fallback.close();
    big.close();
    heap.allocate(MiB).close();
  });

  it('merges adjacent chunks into one udmabuf range and keeps every byte in order', () => {
    const heap = open({ orders: [0], pool: false });
    const buf = heap.allocate(4 * MiB);
    // 1024 chunks of 4 KiB carved in a row are one range: below list_limit, and the buffer works.
    buf.withCpuAccess('write', (v) => {
      for (let i = 0; i < v.length; i += 4096) v[i] = (i / 4096) & 0xff;
    });
    buf.unmap();
    buf.withCpuAccess('read', (v) => {
      for (let i = 0; i < v.length; i += 4096) expect(v[i]).toBe((i / 4096) & 0xff);
    });
    buf.close();
  });
});

describe("systemHeap: udmabuf's limits become typed errors", () => {
  it('a buffer above size_limit_mb is a LimitExceededError before the kernel is asked', () => {
    const heap = open();
    const limit = readUdmabufLimits().sizeLimitMb! * MiB;
    expect(heap.capabilities.maxAllocation).toBe(limit);
    const fds = openFdCount();
    expect(codeOf(() => heap.allocate(limit + 4096))).toBe('ERR_DMAHEAP_LIMIT_EXCEEDED');
    expect(openFdCount()).toBe(fds);
    heap.allocate(limit).close();
  });

  it('more ranges than list_limit is a LimitExceededError, and the chunks go back to the pool', () => {
    const heap = open({ orders: [0] });
    const listLimit = readUdmabufLimits().listLimit!;
    // Fragment the pool: every other 4 KiB buffer of a run goes back.
    const bufs = Array.from({ length: 2 * listLimit }, () => heap.allocate(4096));
    bufs.forEach((b, i) => (i % 2 === 0 ? b.close() : undefined));
    const pooled = (heap.stats().poolBytesPerOrder as Record<number, number>)[0]!;
    const fds = openFdCount();
    expect(codeOf(() => heap.allocate((listLimit + 1) * 4096))).toBe('ERR_DMAHEAP_LIMIT_EXCEEDED');
    expect(openFdCount()).toBe(fds);
    // Nothing is lost: the pooled chunks went back, with the fresh one carved for the failed request.
    const after = (heap.stats().poolBytesPerOrder as Record<number, number>)[0]!;
    expect(after).toBeGreaterThanOrEqual(pooled);
    expect(after).toBeLessThanOrEqual(pooled + (listLimit + 1) * 4096);
    bufs.forEach((b) => b.close());
  });
});

describe('systemHeap: skip sync if not mapped', () => {
  it('CPU-access brackets make no sync system call until the fd is handed out', () => {
    const heap = open();
    const realSync = dmaBufOps.sync;
    const calls: string[] = [];
    dmaBufOps.sync = (fd, phase, mode) => {
      calls.push(`${phase}:${mode}`);
      realSync(fd, phase, mode);
    };
    try {
      const buf = heap.allocate(64 * KiB);
      buf.withCpuAccess('write', (v) => v.fill(1));
      expect(calls).toEqual([]);
      expect(readFdInfo(buf.fd).count).toBe(2); // handed out (fd read): an importer could attach now; the mapping is the 2nd reference
      buf.withCpuAccess('read', (v) => expect(v[100]).toBe(1));
      expect(calls).toEqual(['start:read', 'end:read']);
      buf.close();
    } finally {
      dmaBufOps.sync = realSync;
    }
  });
});

/** Bytes of memory the system heaps' arena memfds of this process hold (st_blocks of each). */
function arenaBytesResident(): number {
  let bytes = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('/memfd:dmaheap-system-')) bytes += statSync(`/proc/self/fd/${fd}`).blocks * 512;
    } catch {
      // the directory's own fd, closed by now
    }
  }
  return bytes;
}

describe('systemHeap: background refill', () => {
  it('fills the pool up to the low watermark on idle turns with pages faulted in and zero, and allocations then hit the pool', async () => {
    const heap = open({ pool: { lowWatermark: 4 * MiB } });
    for (let i = 0; i < 200 && (heap.stats().poolBytesPerOrder as Record<number, number>)[8]! < 4 * MiB; i++) {
      await new Promise((r) => setImmediate(r));
    }
    expect(heap.stats().poolBytesPerOrder).toMatchObject({ 8: 4 * MiB });
    // The pages are there already (the refill faulted them in), not just the ranges: the arenas' memfds have them.
    expect(arenaBytesResident()).toBeGreaterThanOrEqual(4 * MiB);
    const hits = heap.stats().hits as number;
    const buf = heap.allocate(2 * MiB);
    expect(buf.withCpuAccess('read', (v) => v.every((b) => b === 0))).toBe(true);
    buf.close();
    expect(heap.stats().hits).toBe(hits + 2);
  });
});
