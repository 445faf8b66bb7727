// kernelHeap's capabilities from what the kernel says about a heap (VM, stock kernel; the CMA kernel's in
// kernel-heap.cma.vm.test.ts): CMA by the kernel's CMA areas, uncached by name.
// No kernel the test bed boots has an uncached heap (mainline 6.12 to 6.19 has none: the system-uncached heap
// lives in Android's and vendors' trees), so the uncached flag is checked on a node of that name made with mknod
// over the system heap's device: the name is all kernelHeap goes by, and the allocation is the kernel's own.
// Run: node tools/vm/dist/cli.js --test-setup -- node node_modules/vitest/vitest.mjs run --project vm packages/native/src/kernel-heap.vm.test.ts
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelCmaHeaps } from '@dmaheap/core';
import { kernelHeap, openFdCount } from './index.js';

/** A copy of /dev/dma_heap/system's device node under `name` in a scratch directory (the same major:minor). */
function nodeAs(name: string): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'heap-nodes-'));
  const { rdev } = statSync('/dev/dma_heap/system');
  execFileSync('mknod', ['-m', '600', join(dir, name), 'c', String((rdev >> 8) & 0xfff), String((rdev & 0xff) | ((rdev >> 12) & 0xfff00))]);
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('kernelHeap capabilities from what the kernel says', () => {
  it('the system heap: cached, not contiguous, guarded', () => {
    const heap = kernelHeap('system');
    try {
      expect(heap.capabilities).toMatchObject({ cached: true, contiguous: false, backing: 'kernel:system' });
    } finally {
      heap.close();
    }
  });

  it('a heap named *-uncached is reported uncached; its buffers are the kernel heap buffers they are', () => {
    const fds = openFdCount();
    const { dir, done } = nodeAs('system-uncached');
    try {
      const heap = kernelHeap('system-uncached', { dir });
      try {
        expect(heap.capabilities).toMatchObject({ cached: false, contiguous: false, backing: 'kernel:system-uncached' });
        const buf = heap.allocate(64 * 1024);
        expect(buf.info()).toMatchObject({ size: 64 * 1024, exporter: 'system' });
        buf.close();
      } finally {
        heap.close();
      }
    } finally {
      done();
    }
    expect(openFdCount()).toBe(fds);
  });

  it("no CMA heap on Debian's x86 kernel (no CMA): none is taken for one", () => {
    expect(kernelCmaHeaps()).toEqual([]);
  });
});
