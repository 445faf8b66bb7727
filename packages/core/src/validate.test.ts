import { describe, expect, it } from 'vitest';
import { DmaHeapError } from './errors.js';
import { validateAccessMode, validateAllocateOptions, validateName, validateSize } from './validate.js';

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
