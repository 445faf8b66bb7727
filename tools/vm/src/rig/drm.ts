// DRM PRIME import of dma-bufs, GEM handles, dumb buffers and vgem's fences: the ioctls a test needs to
// hand a dma-buf to a real DRM importer (vgem). Structs are built with DataView in the layouts of
// <drm/drm.h>, <drm/drm_mode.h> and <drm/vgem_drm.h> (./layouts.ts: held to the headers of x86_64 and arm64
// by layouts.test.ts); request numbers are computed with the
// _IOC encoding of <asm-generic/ioctl.h>. Failures are system errors named after the request, e.g.
// `EINVAL: invalid argument, ioctl(DRM_IOCTL_MODE_MAP_DUMB)`.
import { readdirSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { constants } from '@dmaheap/native';
import { ioctl, iow, iowr } from './ioc.js';
import { LAYOUTS } from './layouts.js';

const L = LAYOUTS;

/* ---------------- request numbers ---------------- */

/** DRM_IOCTL_BASE is 'd'. */
const drmIow = (nr: number, size: number) => iow('d', nr, size);
const drmIowr = (nr: number, size: number) => iowr('d', nr, size);

/** `struct drm_gem_close`: u32 handle, u32 pad. */
export const DRM_GEM_CLOSE_SIZE = LAYOUTS.drm_gem_close.size;
/** `struct drm_get_cap`: u64 capability, u64 value. */
export const DRM_GET_CAP_SIZE = LAYOUTS.drm_get_cap.size;
/** `struct drm_prime_handle`: u32 handle, u32 flags, s32 fd. */
export const DRM_PRIME_HANDLE_SIZE = LAYOUTS.drm_prime_handle.size;
/** `struct drm_mode_create_dumb`: u32 height width bpp flags handle pitch, u64 size. */
export const DRM_MODE_CREATE_DUMB_SIZE = LAYOUTS.drm_mode_create_dumb.size;
/** `struct drm_mode_map_dumb`: u32 handle, u32 pad, u64 offset. */
export const DRM_MODE_MAP_DUMB_SIZE = LAYOUTS.drm_mode_map_dumb.size;
/** `struct drm_mode_destroy_dumb`: u32 handle. */
export const DRM_MODE_DESTROY_DUMB_SIZE = LAYOUTS.drm_mode_destroy_dumb.size;
/** `struct drm_vgem_fence_attach`: u32 handle, u32 flags, u32 out_fence, u32 pad. */
export const DRM_VGEM_FENCE_ATTACH_SIZE = LAYOUTS.drm_vgem_fence_attach.size;
/** `struct drm_vgem_fence_signal`: u32 fence, u32 flags. */
export const DRM_VGEM_FENCE_SIGNAL_SIZE = LAYOUTS.drm_vgem_fence_signal.size;

export const DRM_IOCTL_GEM_CLOSE = drmIow(0x09, DRM_GEM_CLOSE_SIZE);
export const DRM_IOCTL_GET_CAP = drmIowr(0x0c, DRM_GET_CAP_SIZE);
export const DRM_IOCTL_PRIME_HANDLE_TO_FD = drmIowr(0x2d, DRM_PRIME_HANDLE_SIZE);
export const DRM_IOCTL_PRIME_FD_TO_HANDLE = drmIowr(0x2e, DRM_PRIME_HANDLE_SIZE);
export const DRM_IOCTL_MODE_CREATE_DUMB = drmIowr(0xb2, DRM_MODE_CREATE_DUMB_SIZE);
export const DRM_IOCTL_MODE_MAP_DUMB = drmIowr(0xb3, DRM_MODE_MAP_DUMB_SIZE);
export const DRM_IOCTL_MODE_DESTROY_DUMB = drmIowr(0xb4, DRM_MODE_DESTROY_DUMB_SIZE);
/** DRM_COMMAND_BASE (0x40) + DRM_VGEM_FENCE_ATTACH (1). */
export const DRM_IOCTL_VGEM_FENCE_ATTACH = drmIowr(0x41, DRM_VGEM_FENCE_ATTACH_SIZE);
/** DRM_COMMAND_BASE (0x40) + DRM_VGEM_FENCE_SIGNAL (2). */
export const DRM_IOCTL_VGEM_FENCE_SIGNAL = drmIow(0x42, DRM_VGEM_FENCE_SIGNAL_SIZE);

export const DRM_CAP_DUMB_BUFFER = 0x1;
export const DRM_CAP_PRIME = 0x5;
export const DRM_PRIME_CAP_IMPORT = 0x1;
export const DRM_PRIME_CAP_EXPORT = 0x2;
/** vgem fence flag: the fence stands for a write (DMA_RESV_USAGE_WRITE); without it, a read. */
export const VGEM_FENCE_WRITE = 0x1;

/* ---------------- calls ---------------- */

function struct(size: number): [Uint8Array, DataView] {
  const b = new Uint8Array(size);
  return [b, new DataView(b.buffer)];
}

/**
 * The `/dev/dri/cardN` node of a driver (e.g. `'vgem'`): the card whose device is bound to a driver of
 * that name (`/sys/class/drm/cardN/device/driver`) or, for drivers that register a bare platform device
 * without binding a driver to it (vgem), whose device has that name (`/sys/class/drm/cardN/device`).
 * Undefined when there is none.
 */
export function drmCardForDriver(driver: string, sysDir = '/sys/class/drm'): string | undefined {
  let names: string[];
  try {
    names = readdirSync(sysDir).filter((n) => /^card\d+$/.test(n)).sort();
  } catch {
    return undefined;
  }
  const link = (path: string): string | undefined => {
    try {
      return basename(readlinkSync(path));
    } catch {
      return undefined;
    }
  };
  for (const n of names) {
    const bound = link(`${sysDir}/${n}/device/driver`);
    if (bound === driver || (bound === undefined && link(`${sysDir}/${n}/device`) === driver)) return `/dev/dri/${n}`;
  }
  return undefined;
}

/** DRM_IOCTL_GET_CAP (e.g. `DRM_CAP_PRIME` → `DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT`). */
export function drmGetCap(cardFd: number, capability: number): bigint {
  const [b, v] = struct(DRM_GET_CAP_SIZE);
  v.setBigUint64(L.drm_get_cap.fields.capability, BigInt(capability), true);
  ioctl(cardFd, DRM_IOCTL_GET_CAP, b, 'DRM_IOCTL_GET_CAP');
  return v.getBigUint64(L.drm_get_cap.fields.value, true);
}

/**
 * DRM_IOCTL_PRIME_FD_TO_HANDLE: imports a dma-buf into the DRM device (the driver attaches to it and
 * maps it for its device) and returns a GEM handle. Importing the same dma-buf again on the same DRM
 * file returns the same handle. Release it with {@link drmGemClose}.
 */
export function drmPrimeFdToHandle(cardFd: number, dmabufFd: number): number {
  const [b, v] = struct(DRM_PRIME_HANDLE_SIZE);
  v.setInt32(L.drm_prime_handle.fields.fd, dmabufFd, true);
  ioctl(cardFd, DRM_IOCTL_PRIME_FD_TO_HANDLE, b, 'DRM_IOCTL_PRIME_FD_TO_HANDLE');
  return v.getUint32(L.drm_prime_handle.fields.handle, true);
}

/**
 * DRM_IOCTL_PRIME_HANDLE_TO_FD: a dma-buf fd for a GEM handle (`DRM_CLOEXEC | DRM_RDWR`). For an
 * imported object this is a new fd for the very dma-buf that was imported.
 */
export function drmPrimeHandleToFd(cardFd: number, handle: number): number {
  const [b, v] = struct(DRM_PRIME_HANDLE_SIZE);
  v.setUint32(L.drm_prime_handle.fields.handle, handle, true);
  v.setUint32(L.drm_prime_handle.fields.flags, (constants.O_CLOEXEC | constants.O_RDWR) >>> 0, true);
  v.setInt32(L.drm_prime_handle.fields.fd, -1, true);
  ioctl(cardFd, DRM_IOCTL_PRIME_HANDLE_TO_FD, b, 'DRM_IOCTL_PRIME_HANDLE_TO_FD');
  return v.getInt32(L.drm_prime_handle.fields.fd, true);
}

/** DRM_IOCTL_GEM_CLOSE: drops the handle (for an import: the driver's reference to the dma-buf). */
export function drmGemClose(cardFd: number, handle: number): void {
  const [b, v] = struct(DRM_GEM_CLOSE_SIZE);
  v.setUint32(L.drm_gem_close.fields.handle, handle, true);
  ioctl(cardFd, DRM_IOCTL_GEM_CLOSE, b, 'DRM_IOCTL_GEM_CLOSE');
}

/** A dumb buffer made by {@link drmModeCreateDumb}. */
export interface DrmDumbBuffer {
  handle: number;
  pitch: number;
  size: number;
}

/** DRM_IOCTL_MODE_CREATE_DUMB: a buffer of the driver's own memory. */
export function drmModeCreateDumb(cardFd: number, shape: { width: number; height: number; bpp: number }): DrmDumbBuffer {
  const [b, v] = struct(DRM_MODE_CREATE_DUMB_SIZE);
  const f = L.drm_mode_create_dumb.fields;
  v.setUint32(f.height, shape.height, true);
  v.setUint32(f.width, shape.width, true);
  v.setUint32(f.bpp, shape.bpp, true);
  ioctl(cardFd, DRM_IOCTL_MODE_CREATE_DUMB, b, 'DRM_IOCTL_MODE_CREATE_DUMB');
  return { handle: v.getUint32(f.handle, true), pitch: v.getUint32(f.pitch, true), size: Number(v.getBigUint64(f.size, true)) };
}

/**
 * DRM_IOCTL_MODE_MAP_DUMB: the fake offset at which `mmap` of the card fd maps the object. Drivers
 * using the default `drm_gem_dumb_map_offset` (vgem, through the shmem helpers) refuse imported
 * objects with EINVAL.
 */
export function drmModeMapDumb(cardFd: number, handle: number): number {
  const [b, v] = struct(DRM_MODE_MAP_DUMB_SIZE);
  v.setUint32(L.drm_mode_map_dumb.fields.handle, handle, true);
  ioctl(cardFd, DRM_IOCTL_MODE_MAP_DUMB, b, 'DRM_IOCTL_MODE_MAP_DUMB');
  return Number(v.getBigUint64(L.drm_mode_map_dumb.fields.offset, true));
}

/** DRM_IOCTL_MODE_DESTROY_DUMB. */
export function drmModeDestroyDumb(cardFd: number, handle: number): void {
  const [b, v] = struct(DRM_MODE_DESTROY_DUMB_SIZE);
  v.setUint32(L.drm_mode_destroy_dumb.fields.handle, handle, true);
  ioctl(cardFd, DRM_IOCTL_MODE_DESTROY_DUMB, b, 'DRM_IOCTL_MODE_DESTROY_DUMB');
}

/**
 * DRM_IOCTL_VGEM_FENCE_ATTACH: vgem adds an unsignalled fence to the object's reservation object
 * (for an import: the dma-buf's own), standing for a device write (`write: true`) or read. A CPU
 * access bracket (`DMA_BUF_IOCTL_SYNC` start) waits for it. vgem signals it itself after 10 s.
 *
 * @returns the fence id for {@link vgemFenceSignal}
 * @throws system error EBUSY when a conflicting fence is unsignalled, ENOENT for an unknown handle
 */
export function vgemFenceAttach(cardFd: number, handle: number, options: { write?: boolean } = {}): number {
  const [b, v] = struct(DRM_VGEM_FENCE_ATTACH_SIZE);
  const f = L.drm_vgem_fence_attach.fields;
  v.setUint32(f.handle, handle, true);
  v.setUint32(f.flags, options.write ? VGEM_FENCE_WRITE : 0, true);
  ioctl(cardFd, DRM_IOCTL_VGEM_FENCE_ATTACH, b, 'DRM_IOCTL_VGEM_FENCE_ATTACH');
  return v.getUint32(f.out_fence, true);
}

/**
 * DRM_IOCTL_VGEM_FENCE_SIGNAL: signals a fence made on the same card fd.
 *
 * @throws system error ETIMEDOUT when vgem had already signalled it (10 s passed), ENOENT when unknown
 */
export function vgemFenceSignal(cardFd: number, fence: number): void {
  const [b, v] = struct(DRM_VGEM_FENCE_SIGNAL_SIZE);
  v.setUint32(L.drm_vgem_fence_signal.fields.fence, fence, true);
  ioctl(cardFd, DRM_IOCTL_VGEM_FENCE_SIGNAL, b, 'DRM_IOCTL_VGEM_FENCE_SIGNAL');
}
