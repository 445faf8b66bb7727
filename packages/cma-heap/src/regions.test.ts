// Host tests of the pure parts: reading what the kernel prints about CMA, finding one allocation in the
// allocator's bitmap, and the padding that buys an alignment. (What the kernel really does is tested in the
// CMA VM: *.cma.vm.test.ts.)
import { describe, expect, it } from 'vitest';
import { paddedLength } from './options.js';
import { consecutive, newRun, parseBitmap, parseMeminfo, pfnAlignmentOrder } from './regions.js';

describe('parseMeminfo', () => {
  it('reads CmaTotal and CmaFree in bytes', () => {
    const text = 'MemTotal:        3000000 kB\nCmaTotal:         262144 kB\nCmaFree:          200000 kB\n';
    expect(parseMeminfo(text)).toEqual({ total: 262144 * 1024, free: 200000 * 1024 });
  });
  it('says undefined on a kernel without CMA', () => {
    expect(parseMeminfo('MemTotal: 1 kB\n')).toEqual({ total: undefined, free: undefined });
  });
});

describe('parseBitmap and newRun', () => {
  it('parses debugfs u32 arrays', () => {
    expect([...parseBitmap('0 4294967295 7\n')]).toEqual([0, 0xffffffff, 7]);
    expect(() => parseBitmap('1 x 2')).toThrow(/not a CMA bitmap word/);
  });

  it('finds one new run, also across word boundaries', () => {
    const before = new Uint32Array([0x0000000f, 0, 0]);
    const after = new Uint32Array([0xf000000f, 0x0000003f, 0]);
    expect(newRun(before, after)).toEqual({ firstBit: 28, bits: 10 });
  });

  it('ignores bits freed meanwhile', () => {
    expect(newRun(new Uint32Array([0xff, 0]), new Uint32Array([0x0f, 0x3]))).toEqual({ firstBit: 32, bits: 2 });
  });

  it('refuses to guess when two runs appeared or none did', () => {
    expect(newRun(new Uint32Array([0]), new Uint32Array([0b1011]))).toBeUndefined();
    expect(newRun(new Uint32Array([5]), new Uint32Array([5]))).toBeUndefined();
    expect(newRun(new Uint32Array([0]), new Uint32Array([0, 0]))).toBeUndefined();
  });
});

describe('frames', () => {
  it('consecutive: one run only', () => {
    expect(consecutive([10n, 11n, 12n])).toBe(true);
    expect(consecutive([10n, 12n])).toBe(false);
    expect(consecutive([])).toBe(false);
  });
  it('pfnAlignmentOrder', () => {
    expect(pfnAlignmentOrder(0x40000n)).toBe(18);
    expect(pfnAlignmentOrder(0x40001n)).toBe(0);
    expect(pfnAlignmentOrder(0x100n)).toBe(8);
  });
});

describe('paddedLength: what the kernel is asked for so get_order(len) reaches the alignment', () => {
  const P = 4096;
  it('rounds to pages and pads only below the alignment', () => {
    expect(paddedLength(1, 0, P)).toBe(P);
    expect(paddedLength(5000, 0, P)).toBe(2 * P);
    // order 8 (1 MiB): more than 128 pages makes get_order 8
    expect(paddedLength(P, 8, P)).toBe(129 * P);
    expect(paddedLength(4 << 20, 8, P)).toBe(4 << 20);
    expect(paddedLength(P, 1, P)).toBe(2 * P);
  });
  it('the padded length always has get_order >= the order asked', () => {
    const getOrder = (bytes: number) => Math.ceil(Math.log2(Math.ceil(bytes / P)));
    for (let order = 0; order <= 8; order++) {
      for (const size of [1, P, 3 * P, 100 * P, 300 * P]) {
        const len = paddedLength(size, order, P);
        expect(len).toBeGreaterThanOrEqual(size);
        expect(getOrder(len)).toBeGreaterThanOrEqual(order);
      }
    }
  });
});
