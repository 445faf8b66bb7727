// The seed benchmark's C loop (host): arguments checked in TypeScript before the addon is called, and a kernel
// failure (/dev/null is no dma-buf heap) in the system-error shape. The loop itself runs in the VM, in apps/bench.
import { closeSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { seedLoop } from './seed.js';

describe('the rig seed loop', () => {
  it('refuses fds, lengths and counts that are not positive safe integers', () => {
    for (const v of [-1, 1.5, NaN, Infinity, 2 ** 31, '3', 3n, undefined]) {
      expect(() => seedLoop(v as number, 4096, 1), `fd ${String(v)}`).toThrow(expect.objectContaining({ code: expect.stringMatching(/^ERR_(INVALID_ARG_VALUE|OUT_OF_RANGE)$/) }));
    }
    for (const v of [0, -4096, 1.5, NaN, Infinity, 2 ** 53, '4096', 4096n, undefined]) {
      expect(() => seedLoop(0, v as number, 1), `len ${String(v)}`).toThrow(expect.objectContaining({ code: expect.stringMatching(/^ERR_(INVALID_ARG_VALUE|OUT_OF_RANGE)$/) }));
      expect(() => seedLoop(0, 4096, v as number), `iterations ${String(v)}`).toThrow(expect.objectContaining({ code: expect.stringMatching(/^ERR_(INVALID_ARG_VALUE|OUT_OF_RANGE)$/) }));
    }
  });

  it('fails on a non-heap fd with ENOTTY in the system-error shape', () => {
    const fd = openSync('/dev/null', 'r');
    try {
      expect(() => seedLoop(fd, 4096, 3)).toThrow(expect.objectContaining({ code: 'ENOTTY', errno: -25, syscall: 'ioctl(DMA_HEAP_IOCTL_ALLOC)', fd }));
    } finally {
      closeSync(fd);
    }
  });
});
