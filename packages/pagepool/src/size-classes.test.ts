// bufferPool's size classes (pure bookkeeping, over a FAKE heap whose buffers are numbers: no kernel).
import { describe, expect, it } from 'vitest';
import { AbstractHeap, type AllocateOptions, type DmaBuf, type DmaBufOps, type HeapCapabilities } from '@dmaheap/core';
import { bufferPool } from './buffer-pool.js';

/** FAKE: hands out made-up fd numbers and makes no system call; only sizes and counts are looked at. */
const FAKE_OPS: DmaBufOps = { mmap: () => new ArrayBuffer(0), munmap() {}, sync() {}, setName() {}, dup: () => -1 };
class FakeHeap extends AbstractHeap {
  readonly capabilities: HeapCapabilities = { contiguous: false, cached: true, alignment: 4096, backing: 'fake' };
  #next = 1000;
  constructor(readonly name: string) {
    super();
  }
  protected _allocate(size: number, options: AllocateOptions): DmaBuf {
    return this.buffer({ fd: this.#next++, size, ops: FAKE_OPS, name: options.name, release() {} });
  }
}

const PAGE = 4096;

describe('bufferPool size classes (FAKE heap)', () => {
  it("'pow2' rounds each size up to a power of two of pages, and reuses a class for every size in it", () => {
    const fake = new FakeHeap('fake');
    const pool = bufferPool(fake, { sizeClasses: 'pow2', pressure: false });
    expect([1, PAGE, PAGE + 1, 3 * PAGE + 1, 5 * PAGE, 8 * PAGE, 1 << 30].map((s) => pool.allocate(s).size)).toEqual([
      PAGE,
      PAGE,
      2 * PAGE,
      4 * PAGE,
      8 * PAGE,
      8 * PAGE,
      1 << 30,
    ]);
    const b = pool.allocate(5 * PAGE);
    b.close();
    const again = pool.allocate(7 * PAGE);
    expect(again.size).toBe(8 * PAGE);
    expect(pool.stats()).toMatchObject({ hits: 1 });
    pool.close();
  });

  it("'page' (the default) keeps each page-rounded size apart", () => {
    const pool = bufferPool(new FakeHeap('fake'), { pressure: false });
    expect([1, 5 * PAGE, 5 * PAGE + 1].map((s) => pool.allocate(s).size)).toEqual([PAGE, 5 * PAGE, 6 * PAGE]);
    pool.close();
  });
});
