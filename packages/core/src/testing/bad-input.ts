// Conformance, bad input: each a typed error with no fd left open, and the heap still working after it.
import { totalmem } from 'node:os';
import { beforeEach, describe, expect, it } from 'vitest';
import { DmaHeapError } from '../errors.js';
import type { Heap } from '../types.js';
import { expectTypedError, KiB, openFdCount } from './helpers.js';

export function describeBadInput(get: () => Heap): void {
  let heap: Heap;
  beforeEach(() => {
    heap = get();
  });
  describe('bad input', () => {
    const sizes: Array<[string, unknown]> = [
      ['0', 0],
      ['negative', -1],
      ['fractional', 0.5],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['above MAX_SAFE_INTEGER', 2 ** 53],
      ['2^64', 2 ** 64],
      ['a string', '4096'],
      ['a bigint', 4096n],
    ];
    for (const [what, size] of sizes) {
      it(`size ${what} is an invalid argument`, () => {
        expectTypedError(() => heap.allocate(size as number), 'ERR_DMAHEAP_INVALID_ARGUMENT');
      });
    }

    it('a size larger than the machine is refused, and the heap still works', () => {
      const before = openFdCount();
      let caught: unknown;
      try {
        heap.allocate(Math.floor(totalmem() * 2 / 4096) * 4096).close();
      } catch (err) {
        caught = err;
      }
      expect(DmaHeapError.isInstance(caught)).toBe(true);
      expect(['ERR_DMAHEAP_LIMIT_EXCEEDED', 'ERR_DMAHEAP_OUT_OF_MEMORY']).toContain((caught as DmaHeapError).code);
      expect(openFdCount()).toBe(before);
      heap.allocate(4 * KiB).close();
    });

    it('unknown options, bad names and bad cpuAccess are invalid arguments', () => {
      expectTypedError(() => heap.allocate(4096, { colour: 'red' } as never), 'ERR_DMAHEAP_INVALID_ARGUMENT');
      expectTypedError(() => heap.allocate(4096, 'name' as never), 'ERR_DMAHEAP_INVALID_ARGUMENT');
      expectTypedError(() => heap.allocate(4096, { name: 'y'.repeat(32) }), 'ERR_DMAHEAP_INVALID_ARGUMENT');
      expectTypedError(() => heap.allocate(4096, { name: 42 as never }), 'ERR_DMAHEAP_INVALID_ARGUMENT');
      expectTypedError(() => heap.allocate(4096, { name: 'a\0b' }), 'ERR_DMAHEAP_INVALID_ARGUMENT');
      expectTypedError(() => heap.allocate(4096, { cpuAccess: 'sometimes' as never }), 'ERR_DMAHEAP_INVALID_ARGUMENT');
      using buf = heap.allocate(4096);
      expectTypedError(() => buf.setName('z'.repeat(32)), 'ERR_DMAHEAP_INVALID_ARGUMENT');
      expectTypedError(() => buf.setName(7 as never), 'ERR_DMAHEAP_INVALID_ARGUMENT');
    });

    it('bad CPU-access modes and an end without a begin are refused', () => {
      using buf = heap.allocate(4096);
      expectTypedError(() => buf.beginCpuAccess('execute' as never), 'ERR_DMAHEAP_INVALID_ARGUMENT');
      expectTypedError(() => buf.beginCpuAccess(undefined as never), 'ERR_DMAHEAP_INVALID_ARGUMENT');
      expectTypedError(() => buf.endCpuAccess('write'), 'ERR_DMAHEAP_INVALID_STATE');
      buf.beginCpuAccess('write');
      expectTypedError(() => buf.endCpuAccess('read'), 'ERR_DMAHEAP_INVALID_STATE');
      buf.endCpuAccess('write');
      expectTypedError(() => buf.endCpuAccess('write'), 'ERR_DMAHEAP_INVALID_STATE');
    });
  });

}
