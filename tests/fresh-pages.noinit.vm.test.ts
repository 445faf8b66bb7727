// Memory fresh from the kernel reads zero, on a kernel that does not clear pages as it allocates them: kernels
// built without INIT_ON_ALLOC_DEFAULT_ON (the test bed's CMA and arm64 kernels, many embedded ones; Debian turns
// it on). Run in a boot of its own with `init_on_alloc=0` (vitest project `noinit`, VM_NOINIT_SETUP), where
// memory handed out before it was cleared shows the old data it held.
// Run: node tools/vm/dist/cli.js --test-setup --cmdline init_on_alloc=0 -- node node_modules/vitest/vitest.mjs run --project noinit
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DmaBuf, Heap } from '@dmaheap/core';
import { dirtyFreeMemory, kernelHeap, openFdCount, pageInit, probeFallocatedUdmabuf } from '@dmaheap/native';
import { bufferPool } from '@dmaheap/pagepool';
import { systemHeap } from '@dmaheap/system-heap';
import { allBytes } from '@dmaheap/vm/guest';

const KiB = 1024;
const MiB = 1024 * KiB;
const PAGE = 4 * KiB;
const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();

const HEAPS: { label: string; open: () => Heap }[] = [
  { label: "kernelHeap('system')", open: () => kernelHeap('system') },
  { label: 'systemHeap()', open: () => systemHeap() },
  { label: "systemHeap({ zero: 'on-alloc' })", open: () => systemHeap({ zero: 'on-alloc' }) },
  { label: 'systemHeap({ orders: [0] })', open: () => systemHeap({ orders: [0] }) },
  { label: "bufferPool(kernelHeap('system'))", open: () => bufferPool(kernelHeap('system')) },
  { label: 'bufferPool(systemHeap())', open: () => bufferPool(systemHeap()) },
];

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Index of the first non-zero byte, or -1 (compared against zeroes in C first; scanned only when it fails). */
const firstNonZero = (view: Uint8Array): number => (allBytes(view, 0) ? -1 : view.findIndex((x) => x !== 0));

describe('this boot', () => {
  it('does not clear pages at allocation (init_on_alloc=0, and the kernel says so)', () => {
    expect(readFileSync('/proc/cmdline', 'utf8')).toMatch(/(^|\s)init_on_alloc=0(\s|$)/);
    expect(pageInit().atAlloc).toBe(false);
  });

  it('control, measured: whether a udmabuf over fallocated memfd pages shows old memory on this kernel', (ctx) => {
    // Not one of our heaps: what the system heap must never do (it never fallocates). fallocate gives a shmem
    // file its pages without clearing them and udmabuf pins them as found: up to Debian's 6.12.117 the dma-buf
    // then showed old memory; 6.12.118's memfd_pin_folios clears them. The probe reports what this kernel does;
    // the heaps below must read zero either way.
    const fds = openFdCount();
    const probe = probeFallocatedUdmabuf({ bytes: 16 * MiB, dirtyBytes: 256 * MiB });
    console.log(`[fresh] control on ${release}: ${probe.how}`);
    expect(openFdCount()).toBe(fds);
    expect(probe.detail.pages).toBe((16 * MiB) / PAGE);
    expect(probe.verdict).not.toBe('unmeasured');
    if (probe.verdict === 'no') ctx.skip(`${release} clears fallocated pages when udmabuf pins them: no old memory to show`);
    expect(probe.detail.stalePages).toBeGreaterThan(0);
  });
});

describe.each(HEAPS)('$label', (c) => {
  it('never hands out what was in memory before: every page fresh from the kernel reads zero', async () => {
    const start = openFdCount();
    dirtyFreeMemory(256 * MiB);
    const heap = c.open();
    const bufs: DmaBuf[] = [];
    try {
      // All held at once, so each is memory the heap had not handed out before (about 42 MiB).
      for (const [size, n] of [[4 * KiB, 16], [64 * KiB, 16], [1 * MiB, 8], [8 * MiB, 4]] as const) {
        for (let i = 0; i < n; i++) {
          const buf = heap.allocate(size);
          bufs.push(buf);
          const at = buf.withCpuAccess('read', (v) => firstNonZero(v));
          expect(at, `${size} bytes, fresh buffer ${i + 1}/${n}: byte ${at} is ${at < 0 ? 0 : buf.map()[at]} (old data)`).toBe(-1);
          await turn(); // under emulation this loop takes seconds: vitest's worker must get to answer its RPC
        }
      }
    } finally {
      for (const b of bufs) b.close();
      heap.close();
    }
    expect(openFdCount()).toBe(start);
  });
});

describe('systemHeap({ pool: { lowWatermark } })', () => {
  it('chunks the background refill faulted in read zero when a buffer gets them', async () => {
    dirtyFreeMemory(256 * MiB);
    const heap = systemHeap({ pool: { lowWatermark: 4 * MiB } });
    try {
      for (let i = 0; i < 200 && (heap.stats().poolBytesPerOrder as Record<number, number>)[8]! < 4 * MiB; i++) {
        await new Promise((r) => setImmediate(r));
      }
      expect(heap.stats().poolBytesPerOrder).toMatchObject({ 8: 4 * MiB });
      const buf = heap.allocate(4 * MiB);
      try {
        expect(buf.withCpuAccess('read', (v) => firstNonZero(v))).toBe(-1);
      } finally {
        buf.close();
      }
    } finally {
      heap.close();
    }
  });
});
