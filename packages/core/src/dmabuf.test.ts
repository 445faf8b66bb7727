// Unit tests of the DmaBuf state machine over a FAKE backend (no kernel); the same behaviour is checked on
// real dma-bufs by the conformance suite in the VM.
import { describe, expect, it } from 'vitest';
import { setLeakHandler } from './dmabuf.js';
import { FakeHeap } from './fake.test-helpers.js';
import { collectGarbage } from './testing/index.js';

describe('DmaBuf over the fake backend', () => {
  it('maps once and reuses the mapping until unmap', () => {
    const heap = new FakeHeap('fake');
    const buf = heap.allocate(8192);
    const a = buf.map();
    expect(buf.map()).toBe(a);
    buf.unmap();
    buf.unmap();
    expect(heap.ops.calls.filter((c) => c === 'mmap')).toHaveLength(1);
    expect(heap.ops.calls.filter((c) => c === 'munmap')).toHaveLength(1);
    buf.close();
  });

  it('skips sync system calls until the buffer may be shared, when the heap asks for it', () => {
    const heap = new FakeHeap('fake', Infinity, true);
    const buf = heap.allocate(4096);
    buf.withCpuAccess('write', () => {});
    expect(heap.ops.calls.filter((c) => c.startsWith('sync'))).toEqual([]);
    void buf.fd; // handed out: an importer may now be attached
    expect(buf.shared).toBe(true);
    buf.withCpuAccess('read', () => {});
    expect(heap.ops.calls.filter((c) => c.startsWith('sync'))).toEqual(['sync:start:read', 'sync:end:read']);
    buf.close();
  });

  it('tells release whether the memory may hold data: mapped, or handed out through fd or dup', () => {
    const heap = new FakeHeap('fake'); // a heap that always syncs: its buffers are still not "shared" at birth
    heap.allocate(4096).close();
    const mapped = heap.allocate(4096);
    mapped.map();
    mapped.close();
    const read = heap.allocate(4096);
    void read.fd;
    read.close();
    const duped = heap.allocate(4096);
    duped.dup();
    duped.close();
    expect(heap.releaseStates).toEqual([
      { mapped: false, shared: false },
      { mapped: true, shared: false },
      { mapped: false, shared: true },
      { mapped: false, shared: true },
    ]);
  });

  it('always syncs on heaps that do not skip', () => {
    const heap = new FakeHeap('fake');
    using buf = heap.allocate(4096);
    buf.beginCpuAccess('readwrite');
    buf.endCpuAccess('readwrite');
    expect(heap.ops.calls).toEqual(['sync:start:readwrite', 'sync:end:readwrite']);
  });

  it('ends the bracket even when the callback throws, and counts nested brackets', () => {
    const heap = new FakeHeap('fake');
    using buf = heap.allocate(4096);
    expect(() =>
      buf.withCpuAccess('write', () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(heap.ops.calls.slice(-1)).toEqual(['sync:end:write']);
    buf.beginCpuAccess('read');
    buf.beginCpuAccess('read');
    buf.endCpuAccess('read');
    buf.endCpuAccess('read');
    expect(() => buf.endCpuAccess('read')).toThrow(/without a matching/);
  });

  it('releases exactly once, through close or dispose, and keeps the heap counts', () => {
    const heap = new FakeHeap('fake');
    {
      using a = heap.allocate(4096);
      const b = heap.allocate(8192);
      expect(heap.stats()).toMatchObject({ liveBuffers: 2, liveBytes: 12288, allocations: 2 });
      b.close();
      b.close();
      expect(a.closed).toBe(false);
    }
    expect(heap.released).toHaveLength(2);
    expect(heap.stats()).toMatchObject({ liveBuffers: 0, liveBytes: 0 });
  });

  it('releases and reports every lost buffer, lost in the job that made it or in a long one, and no closed one', async () => {
    const heap = new FakeHeap('fake');
    const leaks: number[] = [];
    const previous = setLeakHandler((l) => leaks.push(l.size));
    try {
      heap.allocate(4096); // lost before its job ended: it had not joined the finalizer yet
      for (let i = 0; i < 3000; i++) heap.allocate(8192).close(); // closed in time: none joins
      for (let i = 0; i < 2500; i++) heap.allocate(12288); // lost in one long job: more than wait at once
      const kept = heap.allocate(16384);
      await collectGarbage();
      expect(leaks.filter((n) => n === 4096)).toHaveLength(1);
      expect(leaks.filter((n) => n === 12288)).toHaveLength(2500);
      expect(leaks.filter((n) => n === 8192 || n === 16384)).toEqual([]);
      expect(heap.stats()).toMatchObject({ liveBuffers: 1, liveBytes: 16384 });
      kept.close(); // it had joined: closing takes it out again
      await collectGarbage();
      expect(leaks).toHaveLength(2501);
      expect(heap.released).toHaveLength(3000 + 2501 + 1);
    } finally {
      setLeakHandler(previous);
    }
  });

  it('async brackets end when the promise settles', async () => {
    const heap = new FakeHeap('fake');
    using buf = heap.allocate(4096);
    const r = await buf.withCpuAccessAsync('read', async (v) => v.length);
    expect(r).toBe(4096);
    expect(heap.ops.calls.slice(-2)).toEqual(['sync:start:read', 'sync:end:read']);
  });

  it('a closed heap refuses to allocate', () => {
    const heap = new FakeHeap('fake');
    heap.close();
    heap.close();
    expect(() => heap.allocate(4096)).toThrow(expect.objectContaining({ code: 'ERR_DMAHEAP_CLOSED' }));
  });
});
