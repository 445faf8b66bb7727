import { describe, expect, it } from 'vitest';
import { DmaHeapError, fromSystemError, HeapNotFoundError, OutOfMemoryError, PermissionDeniedError } from './errors.js';

function systemError(code: string, errno: number, syscall: string) {
  return Object.assign(new Error(`${code}: failed, ${syscall}`), { code, errno, syscall });
}

describe('errors', () => {
  it('maps system errors to typed errors with errno, syscall and heap', () => {
    const e = fromSystemError(systemError('ENOMEM', -12, 'ioctl(DMA_HEAP_IOCTL_ALLOC)'), 'system', 'allocate');
    expect(e).toBeInstanceOf(OutOfMemoryError);
    expect(e.code).toBe('ERR_DMAHEAP_OUT_OF_MEMORY');
    expect(e.errno).toBe(-12);
    expect(e.systemCode).toBe('ENOMEM');
    expect(e.syscall).toBe('ioctl(DMA_HEAP_IOCTL_ALLOC)');
    expect(e.heap).toBe('system');
    expect(e.cause).toBeInstanceOf(Error);
    const denied = fromSystemError(systemError('EACCES', -13, 'open'), 'system', 'open');
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect((denied as PermissionDeniedError).hint).toMatch(/udev/);
    expect(fromSystemError(systemError('EMFILE', -24, 'dup'), 'x', 'dup').code).toBe('ERR_DMAHEAP_LIMIT_EXCEEDED');
    expect(fromSystemError(systemError('EIO', -5, 'ioctl'), 'x', 'sync').code).toBe('ERR_DMAHEAP_SYSTEM');
  });

  it('passes DmaHeapErrors through unchanged', () => {
    const e = new HeapNotFoundError('gone');
    expect(fromSystemError(e, 'x', 'open')).toBe(e);
  });

  it('recognises errors from another copy of the package by marker, not by class identity', () => {
    const foreign = Object.defineProperty(new Error('x'), Symbol.for('dmaheap.error'), { value: true });
    Object.assign(foreign, { code: 'ERR_DMAHEAP_OUT_OF_MEMORY' });
    expect(DmaHeapError.isInstance(foreign)).toBe(true);
    expect(OutOfMemoryError.isInstance(foreign)).toBe(true);
    expect(HeapNotFoundError.isInstance(foreign)).toBe(false);
    expect(DmaHeapError.isInstance(new Error('plain'))).toBe(false);
    expect(DmaHeapError.isInstance(null)).toBe(false);
  });
});
