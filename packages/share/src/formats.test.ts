// Plane layouts (pure arithmetic): the strides and offsets the common formats take, checked against what
// drm_fourcc.h and V4L2 define for them.
import { describe, expect, it } from 'vitest';
import { describeBuffers, fourccCode, planeLayout } from './index.js';

describe('planeLayout', () => {
  it('NV12 1920x1080: a Y plane, then interleaved UV at half height', () => {
    const l = planeLayout('NV12', 1920, 1080);
    expect(l.planes).toEqual([
      { offset: 0, stride: 1920 },
      { offset: 2_076_672, stride: 1920 }, // 1920*1080 = 2 073 600, rounded up to 4 KiB
    ]);
    expect(l.size).toBe(2_076_672 + 1920 * 540);
  });

  it('pads rows to the stride alignment: YUYV 641 wide is not allowed (odd), 642 has a 1344-byte stride', () => {
    expect(() => planeLayout('YUYV', 641, 480)).toThrow(/even width/);
    expect(planeLayout('YUYV', 642, 480).planes).toEqual([{ offset: 0, stride: 1344 }]);
  });

  it('XRGB8888 and P010', () => {
    expect(planeLayout('XR24', 1280, 720)).toMatchObject({ planes: [{ offset: 0, stride: 5120 }], size: 5120 * 720 });
    const p010 = planeLayout('P010', 1280, 720, { planeAlign: 1 });
    expect(p010.planes).toEqual([{ offset: 0, stride: 2560 }, { offset: 2560 * 720, stride: 2560 }]);
    expect(p010.size).toBe(2560 * 720 * 1.5);
  });

  it('fourcc codes are the little-endian characters (DRM_FORMAT_NV12 is 0x3231564e)', () => {
    expect(fourccCode('NV12')).toBe(0x3231564e);
    expect(fourccCode('XR24')).toBe(0x34325258);
  });

  it('a description is JSON naming the fds in order, and refuses a buffer too small for its image', () => {
    const layout = planeLayout('NV12', 64, 64, { planeAlign: 1 });
    const { data, fds } = describeBuffers([{ buffer: { fd: 42, size: 8192, name: 'x' }, layout }], { frame: 3 });
    expect(fds).toEqual([42]);
    expect(JSON.parse(data)).toEqual({
      dmaheap: 1,
      buffers: [{ fd: 0, size: 8192, name: 'x', fourcc: 'NV12', width: 64, height: 64, modifier: '0x0', planes: layout.planes }],
      meta: { frame: 3 },
    });
    expect(() => describeBuffers([{ buffer: { fd: 1, size: 4096 }, layout }])).toThrow(/needs 6144 bytes/);
  });
});
