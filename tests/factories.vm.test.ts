// Bad input to every heap factory: a typed error, no fd left open (issue 7's table, for constructors). That a
// pool refusing its options leaves the heap it was given open: packages/pagepool/src/buffer-pool.vm.test.ts.
import { describe, expect, it } from 'vitest';
import { DmaHeapError, type DmaHeapErrorCode } from '@dmaheap/core';
import { kernelHeap, openFdCount } from '@dmaheap/native';
import { bufferPool, PagePool } from '@dmaheap/pagepool';
import { systemHeap } from '@dmaheap/system-heap';

const CASES: Array<[string, () => unknown, DmaHeapErrorCode]> = [
  ['systemHeap(5)', () => systemHeap(5 as never), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
  ['systemHeap({ orders: [] })', () => systemHeap({ orders: [] }), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
  ['systemHeap({ orders: [11] })', () => systemHeap({ orders: [11] }), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
  ['systemHeap({ orders: [0.5] })', () => systemHeap({ orders: [0.5] }), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
  ["systemHeap({ zero: 'later' })", () => systemHeap({ zero: 'later' as never }), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
  ['systemHeap({ pool: true })', () => systemHeap({ pool: true as never }), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
  ['systemHeap({ pool: { maxBytes: -1 } })', () => systemHeap({ pool: { maxBytes: -1 } }), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
  ['systemHeap({ arenaBytes: 1000 })', () => systemHeap({ arenaBytes: 1000 }), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
  ['systemHeap({ maxBytes: NaN })', () => systemHeap({ maxBytes: Number.NaN }), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
  ["systemHeap({ name: 'x'.repeat(32) })", () => systemHeap({ name: 'x'.repeat(32) }), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
  ['systemHeap({ colour: 1 })', () => systemHeap({ colour: 1 } as never), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
  ['bufferPool(null)', () => bufferPool(null as never), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
  ['bufferPool({})', () => bufferPool({} as never), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
  ["kernelHeap('../etc')", () => kernelHeap('../etc'), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
  ['kernelHeap(5)', () => kernelHeap(5 as never), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
  ["kernelHeap('system', { dir: 5 })", () => kernelHeap('system', { dir: 5 as never }), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
  ["kernelHeap('nope')", () => kernelHeap('nope'), 'ERR_DMAHEAP_HEAP_NOT_FOUND'],
  ['new PagePool({ orders: [-1] })', () => new PagePool({ orders: [-1], release: () => {} }), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
];

describe('heap factories refuse bad input with typed errors and leak nothing', () => {
  for (const [what, call, code] of CASES) {
    it(what, () => {
      const before = openFdCount();
      let err: unknown;
      try {
        call();
      } catch (e) {
        err = e;
      }
      expect(DmaHeapError.isInstance(err), String(err)).toBe(true);
      expect((err as DmaHeapError).code).toBe(code);
      expect(openFdCount()).toBe(before);
    });
  }
});
