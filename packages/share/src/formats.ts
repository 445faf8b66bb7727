// Plane layouts of the common pixel formats, as DRM fourccs (drm_fourcc.h): what a consumer needs beside a
// dma-buf fd to read an image in it. The same shape as linux-dmabuf (Wayland), PipeWire's SPA_DATA_DmaBuf
// chunks, Dawn's and Electron's shared textures: per plane an offset into the buffer and a stride (bytes per
// row), plus the format modifier (0: linear).
import { InvalidArgumentError } from '@dmaheap/core';

export interface Plane {
  /** Index into the message's fds of the dma-buf holding this plane (default: the buffer's own). */
  fd?: number;
  /** Bytes from the start of that dma-buf. */
  offset: number;
  /** Bytes per row. */
  stride: number;
}

export interface Layout {
  fourcc: Fourcc;
  width: number;
  height: number;
  planes: Plane[];
  /** Bytes the planes take in all (the buffer must be at least this big). */
  size: number;
}

/** The formats with layouts here: 4:2:0 semi-planar 8 bit, 4:2:2 packed, 32-bit RGB, 4:2:0 semi-planar 10 bit in 16. */
export type Fourcc = 'NV12' | 'YUYV' | 'XR24' | 'P010';

/** Bytes per pixel of each plane, and each plane's vertical subsampling. */
const FORMATS: Record<Fourcc, { planes: Array<{ bytesPerPixel: number; rowsDivisor: number }>; evenWidth: boolean; evenHeight: boolean }> = {
  NV12: { planes: [{ bytesPerPixel: 1, rowsDivisor: 1 }, { bytesPerPixel: 1, rowsDivisor: 2 }], evenWidth: true, evenHeight: true },
  YUYV: { planes: [{ bytesPerPixel: 2, rowsDivisor: 1 }], evenWidth: true, evenHeight: false },
  XR24: { planes: [{ bytesPerPixel: 4, rowsDivisor: 1 }], evenWidth: false, evenHeight: false },
  P010: { planes: [{ bytesPerPixel: 2, rowsDivisor: 1 }, { bytesPerPixel: 2, rowsDivisor: 2 }], evenWidth: true, evenHeight: true },
};

/** The 32-bit fourcc code of a format, as DRM and V4L2 store it (little-endian characters). */
export function fourccCode(fourcc: Fourcc): number {
  if (!(fourcc in FORMATS)) throw new InvalidArgumentError(`unknown fourcc ${JSON.stringify(fourcc)}; known: ${Object.keys(FORMATS).join(', ')}`);
  return (fourcc.charCodeAt(0) | (fourcc.charCodeAt(1) << 8) | (fourcc.charCodeAt(2) << 16) | (fourcc.charCodeAt(3) << 24)) >>> 0;
}

/**
 * The planes of a `width` × `height` image in one buffer, each plane's rows padded to a multiple of
 * `strideAlign` bytes (default 64: what most GPUs and display engines accept) and each plane starting at a
 * multiple of `planeAlign` (default 4096).
 */
export function planeLayout(fourcc: Fourcc, width: number, height: number, options: { strideAlign?: number; planeAlign?: number } = {}): Layout {
  const f = FORMATS[fourcc];
  if (!f) throw new InvalidArgumentError(`unknown fourcc ${JSON.stringify(fourcc)}; known: ${Object.keys(FORMATS).join(', ')}`);
  const strideAlign = options.strideAlign ?? 64;
  const planeAlign = options.planeAlign ?? 4096;
  for (const [name, v] of [['width', width], ['height', height], ['strideAlign', strideAlign], ['planeAlign', planeAlign]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${String(v)}`);
  }
  if ((f.evenWidth && width % 2) || (f.evenHeight && height % 2)) {
    throw new InvalidArgumentError(`${fourcc} needs an even ${f.evenWidth && width % 2 ? 'width' : 'height'}, got ${width}x${height}`);
  }
  const align = (n: number, a: number) => Math.ceil(n / a) * a;
  const planes: Plane[] = [];
  let offset = 0;
  for (const p of f.planes) {
    offset = align(offset, planeAlign);
    const stride = align(width * p.bytesPerPixel, strideAlign);
    planes.push({ offset, stride });
    offset += stride * (height / p.rowsDivisor);
  }
  return { fourcc, width, height, planes, size: offset };
}
