// bufferPool's size classes (pure bookkeeping, over the FAKE heap of @dmaheap/core's unit tests: no kernel).
import { describe, expect, it } from 'vitest';
import { FakeHeap } from '../../core/src/fake.test-helpers.js';
import { bufferPool } from './buffer-pool.js';

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
