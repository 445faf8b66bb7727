// The scatter-gather table a buffer's chunks become (pure logic, no kernel): sorted, adjacent chunks merged,
// written into a reused array.
import { describe, expect, it } from 'vitest';
import type { Arena } from './arena.js';
import { sgTriples, type Chunk } from './system-heap.js';

const arena = (id: number, fd: number) => ({ id, fd }) as unknown as Arena;
const chunk = (a: Arena, offset: number, order: number): Chunk => ({ arena: a, offset, order, dirty: false });
const P = 4096;

describe('sgTriples', () => {
  it('merges adjacent chunks of one arena, whatever order the pool handed them out in', () => {
    const a = arena(0, 7);
    const out = new Float64Array(12).fill(-1);
    const n = sgTriples([chunk(a, 16 * P, 0), chunk(a, 0, 4), chunk(a, 17 * P, 0)], P, out);
    expect(n).toBe(1);
    expect([...out.subarray(0, 3)]).toEqual([7, 0, 18 * P]);
  });

  it('keeps a gap, and another arena, as separate ranges in arena order', () => {
    const a = arena(0, 7);
    const b = arena(1, 9);
    const out = new Float64Array(12);
    const n = sgTriples([chunk(b, 0, 0), chunk(a, 4 * P, 0), chunk(a, 0, 0)], P, out);
    expect(n).toBe(3);
    expect([...out.subarray(0, 9)]).toEqual([7, 0, P, 7, 4 * P, P, 9, 0, P]);
  });

  it('overwrites what an earlier, larger table left in the reused array', () => {
    const a = arena(0, 3);
    const out = new Float64Array(12);
    sgTriples([chunk(a, 0, 0), chunk(a, 8 * P, 0), chunk(a, 16 * P, 0)], P, out);
    expect(sgTriples([chunk(a, 8 * P, 8)], P, out)).toBe(1);
    expect([...out.subarray(0, 3)]).toEqual([3, 8 * P, 256 * P]);
  });
});
