import { describe, expect, it } from 'vitest';
import { DmaHeapError } from './errors.js';
import { checks, validateAccessMode, validateAllocateOptions, validateName, validateOptions, validateSize } from './validate.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return DmaHeapError.isInstance(e) ? e.code : `not typed: ${String(e)}`;
  }
  return undefined;
}

describe('validate', () => {
  it.each([0, -1, 0.5, Number.NaN, Infinity, -Infinity, 2 ** 53, 2 ** 64, '1', 1n, null, undefined, {}])(
    'rejects size %s',
    (size) => expect(codeOf(() => validateSize(size))).toBe('ERR_DMAHEAP_INVALID_ARGUMENT'),
  );

  it('accepts safe positive integers and applies the heap limit', () => {
    expect(validateSize(1)).toBe(1);
    expect(validateSize(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
    expect(codeOf(() => validateSize(8193, 'h', 8192))).toBe('ERR_DMAHEAP_LIMIT_EXCEEDED');
    expect(validateSize(8192, 'h', 8192)).toBe(8192);
  });

  it('checks names in bytes, not characters', () => {
    expect(validateName('a'.repeat(31))).toHaveLength(31);
    expect(codeOf(() => validateName('a'.repeat(32)))).toBe('ERR_DMAHEAP_INVALID_ARGUMENT');
    // 'é' is two bytes in UTF-8: 16 of them are 32 bytes.
    expect(codeOf(() => validateName('é'.repeat(16)))).toBe('ERR_DMAHEAP_INVALID_ARGUMENT');
    expect(validateName('é'.repeat(15))).toBe('é'.repeat(15));
    expect(codeOf(() => validateName('a\0'))).toBe('ERR_DMAHEAP_INVALID_ARGUMENT');
    expect(codeOf(() => validateName(5))).toBe('ERR_DMAHEAP_INVALID_ARGUMENT');
  });

  it('checks modes and options', () => {
    expect(validateAccessMode('readwrite')).toBe('readwrite');
    expect(codeOf(() => validateAccessMode('rw'))).toBe('ERR_DMAHEAP_INVALID_ARGUMENT');
    expect(validateAllocateOptions(undefined)).toEqual({});
    expect(validateAllocateOptions({ name: 'n', cpuAccess: 'none' })).toEqual({ name: 'n', cpuAccess: 'none' });
    expect(codeOf(() => validateAllocateOptions({ flags: 1 }))).toBe('ERR_DMAHEAP_INVALID_ARGUMENT');
    expect(codeOf(() => validateAllocateOptions([]))).toBe('ERR_DMAHEAP_INVALID_ARGUMENT');
    expect(codeOf(() => validateAllocateOptions({ cpuAccess: 'rw' }))).toBe('ERR_DMAHEAP_INVALID_ARGUMENT');
  });
});

describe('validateOptions', () => {
  const spec = {
    count: checks.positiveInteger,
    mode: checks.oneOf('a', 'b'),
    orders: checks.arrayOf(checks.integerIn(0, 10), { min: 1 }),
    pool: checks.either(checks.oneOf(false), checks.object({ maxBytes: checks.positiveInteger })),
  };
  it('accepts what the spec allows, and undefined values', () => {
    expect(validateOptions({ count: 2, mode: 'b', orders: [8, 0], pool: false }, spec, 'opts')).toEqual({ count: 2, mode: 'b', orders: [8, 0], pool: false });
    expect(validateOptions({ pool: { maxBytes: 4096 }, count: undefined }, spec, 'opts')).toMatchObject({ pool: { maxBytes: 4096 } });
    expect(validateOptions(undefined, spec, 'opts')).toEqual({});
  });
  it.each([
    [{ count: 0 }, /option "count" in opts must be a positive safe integer, got 0/],
    [{ mode: 'c' }, /must be one of "a", "b"/],
    [{ orders: [] }, /an array of at least 1/],
    [{ orders: [11] }, /an array of an integer from 0 to 10/],
    [{ pool: true }, /one of false or an object/],
    [{ pool: { maxBytes: -1 } }, /an object whose option "maxBytes"/],
    [{ colour: 1 }, /unknown option "colour" in opts; known options: count, mode, orders, pool/],
    [7, /opts must be an object/],
    [null, /opts must be an object/],
  ])('refuses %j with a clear InvalidArgumentError', (options, message) => {
    let err: unknown;
    try {
      validateOptions(options, spec, 'opts', 'heapname');
    } catch (e) {
      err = e;
    }
    expect(DmaHeapError.isInstance(err) && err.code).toBe('ERR_DMAHEAP_INVALID_ARGUMENT');
    expect((err as Error).message).toMatch(message);
    expect((err as DmaHeapError).heap).toBe('heapname');
  });
});
