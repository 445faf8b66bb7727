// Lifetimes off the common path, on the real kernel: pools and their wrapped heaps closed in either order, with
// buffers alive, shared or deferred, and files opened in between that take the numbers of the fds just closed.
// (What every heap must do on its own — buffers outliving their heap, dup() copies, collected buffers with live
// views — is in the core conformance suite, run on every heap.)
import { closeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DmaBuf, Heap } from '@dmaheap/core';
import { Canaries } from '@dmaheap/core/testing';
import { kernelHeap, mmapFd, munmap, openFdCount } from '@dmaheap/native';
import { bufferPool } from '@dmaheap/pagepool';
import { CHILD_HEAPS, runInChild } from './child.test-helpers.js';
import { systemHeap } from '@dmaheap/system-heap';

const MiB = 1 << 20;

const INNER: Array<[string, () => Heap]> = [
  ["kernelHeap('system')", () => kernelHeap('system')],
  ['systemHeap()', () => systemHeap()],
  ["systemHeap({ zero: 'on-alloc' })", () => systemHeap({ zero: 'on-alloc' })],
];

/** Buffers in every state a pool can hold them: handed out (written, mapped, shared) and pooled. */
function populate(pool: Heap): { out: DmaBuf[]; dupFd: number } {
  const out = [pool.allocate(MiB), pool.allocate(MiB), pool.allocate(64 * 1024)];
  out[0]!.withCpuAccess('write', (v) => v.fill(0x44));
  out[1]!.map().fill(0x55); // left mapped
  const dupFd = out[2]!.dup(); // shared: its release is deferred while the dup is open
  const clean = pool.allocate(MiB);
  const dirty = pool.allocate(MiB);
  dirty.withCpuAccess('write', (v) => v.fill(0x33));
  clean.close(); // pooled as it was
  dirty.close(); // pooled, zeroed first
  return { out, dupFd };
}

/** Reads a dup'd dma-buf through a mapping of its own. */
function readThrough(fd: number, size: number): Uint8Array {
  const ab = mmapFd(fd, { length: size });
  try {
    return new Uint8Array(ab).slice();
  } finally {
    munmap(ab);
  }
}

describe.each(INNER)('bufferPool(%s): closing in every order', (_label, openInner) => {
  it('pool closed before its buffers: they stay usable, and closing them touches no file opened since', () => {
    const start = openFdCount();
    const pool = bufferPool(openInner(), { pressure: false });
    const { out, dupFd } = populate(pool);
    pool.close();
    const canaries = new Canaries(8);
    try {
      expect(out[0]!.withCpuAccess('read', (v) => v.every((b) => b === 0x44))).toBe(true);
      for (const [i, b] of out.entries()) {
        b.close();
        canaries.check(`after buffer ${i} closed (pool closed before)`);
      }
      expect(readThrough(dupFd, 64 * 1024).length).toBe(64 * 1024);
      closeSync(dupFd);
      canaries.check('after the dup was closed');
    } finally {
      canaries.close();
    }
    expect(openFdCount()).toBe(start);
  });

  it('wrapped heap closed first (by its owner), then the buffers, then the pool', () => {
    const start = openFdCount();
    const inner = openInner();
    const pool = bufferPool(inner, { pressure: false });
    const { out, dupFd } = populate(pool);
    inner.close();
    const canaries = new Canaries(8);
    try {
      // Pooled buffers of a closed heap are still valid buffers: hits work, misses are a typed error.
      const hit = pool.allocate(MiB);
      hit.withCpuAccess('readwrite', (v) => {
        expect(v.findIndex((b) => b !== 0), 'a pooled buffer after its heap closed').toBe(-1);
        v.fill(0x66);
      });
      canaries.check('after a pool hit on a closed heap');
      for (const b of [...out, hit]) b.close();
      canaries.check('after the buffers closed (wrapped heap closed before)');
      expect(() => pool.allocate(3 * MiB)).toThrow(expect.objectContaining({ code: 'ERR_DMAHEAP_CLOSED' }));
      pool.close();
      canaries.check('after the pool closed');
      closeSync(dupFd);
      canaries.check('after the dup was closed');
    } finally {
      canaries.close();
    }
    expect(openFdCount()).toBe(start);
  });

  it('a buffer deferred while shared: the pool closes, the holder keeps reading and writing, nothing else is touched', () => {
    const start = openFdCount();
    const pool = bufferPool(openInner(), { pressure: false });
    const buf = pool.allocate(MiB);
    buf.withCpuAccess('write', (v) => v.fill(0x77));
    const fd = buf.dup();
    buf.close();
    expect(pool.stats()['deferredPending']).toBe(1);
    pool.close();
    const canaries = new Canaries(8);
    try {
      const view = new Uint8Array(mmapFd(fd, { length: MiB }));
      expect(view.every((b) => b === 0x77)).toBe(true);
      view.fill(0x78);
      munmap(view.buffer as ArrayBuffer);
      canaries.check('after the holder wrote its deferred buffer');
      expect(readThrough(fd, MiB).every((b) => b === 0x78)).toBe(true);
    } finally {
      closeSync(fd);
      canaries.close();
    }
    expect(openFdCount()).toBe(start);
  });

  it('a buffer shared, its holder gone, is pooled again and skips syncs for its next user', () => {
    const pool = bufferPool(openInner(), { pressure: false });
    try {
      const buf = pool.allocate(MiB);
      closeSync(buf.dup());
      buf.close();
      const again = pool.allocate(MiB);
      expect(pool.stats()['hits']).toBe(1);
      expect(again.shared).toBe(false);
      again.withCpuAccess('read', (v) => expect(v.findIndex((b) => b !== 0)).toBe(-1));
      again.close();
    } finally {
      pool.close();
    }
  });
});

describe('systemHeap(): deferred and live buffers when the heap closes', () => {
  for (const zero of ['on-free', 'on-alloc'] as const) {
    it(`zero: '${zero}': a deferred buffer and a live one outlive the heap; no arena fd is touched after close`, () => {
      const start = openFdCount();
      const heap = systemHeap({ zero });
      const shared = heap.allocate(MiB);
      shared.withCpuAccess('write', (v) => v.fill(0x12));
      const fd = shared.dup();
      shared.close(); // deferred: the dup holds it
      const live = heap.allocate(2 * MiB);
      live.withCpuAccess('write', (v) => v.fill(0x34));
      heap.close();
      const canaries = new Canaries(8);
      try {
        expect(readThrough(fd, MiB).every((b) => b === 0x12)).toBe(true);
        expect(live.withCpuAccess('read', (v) => v.every((b) => b === 0x34))).toBe(true);
        live.close();
        canaries.check('after a live buffer closed after the heap');
        closeSync(fd);
        canaries.check('after the deferred buffer\'s last holder closed');
        expect(heap.stats()['deferredPending']).toBe(0);
      } finally {
        canaries.close();
      }
      expect(openFdCount()).toBe(start);
    });
  }
});

// (kernelHeap keeps no memory of its own: the kernel frees its pages when the last mapping goes.)
describe.each(Object.entries(CHILD_HEAPS).filter(([label]) => label !== "kernelHeap('system')"))('%s: a view moved to another ArrayBuffer', (_label, expr) => {
  it('keeps its memory out of the pool until the new ArrayBuffer is collected', async () => {
    // ArrayBuffer.prototype.transfer (behind a flag on Node 20) detaches the view's ArrayBuffer and moves the
    // memory to a new one, which close() cannot detach: the buffer must then wait for the kernel's word.
    const r = await runInChild<{ pending: number; clean: boolean; sawWrite: boolean; after: number; zero: boolean; fds: number[] }>(
      `
      const fds = [native.openFdCount()];
      const heap = ${expr};
      const buf = heap.allocate(1 << 20);
      const view = buf.map();
      view.fill(0x21);
      let moved = view.buffer.transfer();
      buf.close();
      const pending = heap.stats().deferredPending;
      new Uint8Array(moved).fill(0x99);
      const others = Array.from({ length: 4 }, () => heap.allocate(1 << 20));
      const clean = others.every((o) => o.withCpuAccess('read', (v) => v.every((b) => b === 0)));
      for (const o of others) o.withCpuAccess('write', (v) => v.fill(0x42));
      const sawWrite = new Uint8Array(moved).some((b) => b !== 0x99);
      for (const o of others) o.close();
      moved = undefined;
      for (let i = 0; i < 6; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 50)); }
      const after = heap.collectDeferred();
      const again = heap.allocate(1 << 20);
      const zero = again.withCpuAccess('read', (v) => v.every((b) => b === 0));
      again.close();
      heap.close();
      fds.push(native.openFdCount());
      console.log(JSON.stringify({ pending, clean, sawWrite, after, zero, fds }));
      `,
      ['--expose-gc', '--harmony-rab-gsab-transfer'],
    );
    expect(r.pending, 'the buffer waits while the moved ArrayBuffer maps it').toBe(1);
    expect(r.clean, 'buffers allocated while it waits are zero').toBe(true);
    expect(r.sawWrite, 'their writes never show through the moved ArrayBuffer').toBe(false);
    expect(r.after, 'once the moved ArrayBuffer is collected, nothing waits').toBe(0);
    expect(r.zero).toBe(true);
    expect(r.fds[1]).toBe(r.fds[0]);
  });
});
