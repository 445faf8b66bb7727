// bufferPool's bookkeeping over a FAKE heap (no kernel: made-up fd numbers, ArrayBuffers for mappings): what the
// pool asks of the wrapped heap's buffers. What the kernel does with real buffers is tested in the VM.
import { describe, expect, it } from 'vitest';
import { AbstractHeap, type AllocateOptions, type DmaBuf, type DmaBufOps, type HeapCapabilities, type ReleaseState } from '@dmaheap/core';
import { bufferPool } from './buffer-pool.js';

/** FAKE: records each system call it is asked for, makes none. */
class FakeOps implements DmaBufOps {
  readonly calls: string[] = [];
  mmap(_fd: number, length: number): ArrayBuffer {
    this.calls.push('mmap');
    return new ArrayBuffer(length);
  }
  munmap(): void {
    this.calls.push('munmap');
  }
  sync(_fd: number, phase: string, mode: string): void {
    this.calls.push(`sync:${phase}:${mode}`);
  }
  setName(_fd: number, name: string): void {
    this.calls.push(`setName:${name}`);
  }
  dup(): number {
    this.calls.push('dup');
    return 9999;
  }
}

/** FAKE heap that skips syncs until a buffer is shared, as systemHeap() does. */
class FakeSkipSyncHeap extends AbstractHeap {
  readonly capabilities: HeapCapabilities = { contiguous: false, cached: true, alignment: 4096, backing: 'fake' };
  readonly ops = new FakeOps();
  readonly releases: ReleaseState[] = [];
  #next = 1000;
  constructor(readonly name: string) {
    super();
  }
  protected _allocate(size: number, options: AllocateOptions): DmaBuf {
    return this.buffer({
      fd: this.#next++,
      size,
      ops: this.ops,
      name: options.name,
      skipSyncUntilShared: true,
      release: (state) => this.releases.push(state),
    });
  }
}

const syncs = (ops: FakeOps) => ops.calls.filter((c) => c.startsWith('sync'));

describe('bufferPool over a FAKE skip-sync heap', () => {
  it('keeps skip-sync: mapping, CPU-access brackets, setName and info of pooled buffers make no sync call', () => {
    const inner = new FakeSkipSyncHeap('fake');
    const pool = bufferPool(inner, { pressure: false });
    for (let round = 0; round < 3; round++) {
      const buf = pool.allocate(8192, { name: `frame-${round}` });
      buf.withCpuAccess('write', (v) => v.fill(round + 1));
      buf.beginCpuAccess('read');
      buf.endCpuAccess('read');
      buf.setName(`renamed-${round}`);
      expect(buf.shared).toBe(false);
      buf.close();
    }
    expect(syncs(inner.ops), 'sync calls for buffers nobody else could see').toEqual([]);
    expect(pool.stats()).toMatchObject({ hits: 2, misses: 1 });
    pool.close();
  });

  it('syncs once a pooled buffer is handed out, and only that lease', () => {
    const inner = new FakeSkipSyncHeap('fake');
    const pool = bufferPool(inner, { pressure: false });
    const buf = pool.allocate(4096);
    buf.withCpuAccess('write', () => {});
    expect(syncs(inner.ops)).toEqual([]);
    void buf.fd; // handed to an importer
    buf.withCpuAccess('read', () => {});
    expect(syncs(inner.ops)).toEqual(['sync:start:read', 'sync:end:read']);
    buf.close();
    pool.close();
  });

  it('tells the wrapped heap that a lent buffer may have been shared when it finally releases it', () => {
    const inner = new FakeSkipSyncHeap('fake');
    const pool = bufferPool(inner, { pressure: false });
    pool.allocate(4096).close(); // never mapped, never shared: pooled
    pool.close(); // the pooled buffer goes back to the inner heap
    // The pool lent it: its own handles could have given the fd away, so the inner heap must ask the kernel.
    expect(inner.releases).toEqual([{ mapped: false, shared: true }]);
  });

  it('clears a name left by the previous user when a buffer is handed out without one', () => {
    const inner = new FakeSkipSyncHeap('fake');
    const pool = bufferPool(inner, { pressure: false });
    pool.allocate(4096, { name: 'first' }).close();
    pool.allocate(4096).close();
    pool.allocate(4096).close();
    expect(inner.ops.calls.filter((c) => c.startsWith('setName'))).toEqual(['setName:']);
    pool.close();
  });
});
