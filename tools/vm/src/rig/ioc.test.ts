// The test rig's ioctl (host): the one request encoder, and the checks that keep the kernel inside the struct
// it is given. Legacy requests that encode no size (TCGETS is 0x5401) and structs shorter than the size a
// request encodes are refused before the system call, in TypeScript and again in C.
import { closeSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ioc, iocDecode, ioctl, ior, iowr, IOC_READ, IOC_WRITE } from './ioc.js';
import { VIDIOC_QUERYCAP, VIDIOC_QBUF } from './v4l2.js';

describe('the rig ioctl', () => {
  it('encodes requests as <asm-generic/ioctl.h> does', () => {
    // Values from the C headers: VIDIOC_QUERYCAP 0x80685600, VIDIOC_QBUF 0xc058560f (x86_64).
    expect(VIDIOC_QUERYCAP).toBe(0x80685600);
    expect(VIDIOC_QBUF).toBe(0xc058560f);
    expect(ior('V', 0, 104)).toBe(ioc(IOC_READ, 'V', 0, 104));
    expect(iocDecode(iowr('d', 0x2e, 12))).toEqual({ dir: IOC_READ | IOC_WRITE, size: 12 });
  });

  it('refuses requests that encode no size, and structs shorter than the request passes', () => {
    const fd = openSync('/dev/null', 'r');
    try {
      expect(() => ioctl(fd, 0x5401 /* TCGETS */, new Uint8Array(64), 'TCGETS')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      expect(() => ioctl(fd, VIDIOC_QUERYCAP, new Uint8Array(103), 'VIDIOC_QUERYCAP')).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
      // A well-formed request reaches the kernel, which says /dev/null has no such ioctl.
      expect(() => ioctl(fd, VIDIOC_QUERYCAP, new Uint8Array(104), 'VIDIOC_QUERYCAP')).toThrow(expect.objectContaining({ code: 'ENOTTY', syscall: 'ioctl(VIDIOC_QUERYCAP)' }));
    } finally {
      closeSync(fd);
    }
  });
});
