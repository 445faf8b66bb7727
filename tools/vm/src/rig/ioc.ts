// The test rig's ioctl: request numbers in the _IOC encoding of <asm-generic/ioctl.h> (the one encoder the V4L2
// and DRM rigs use), and a checked ioctl over the rig's own addon (rig/ioctl.c, never published).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { invalidArgument, systemError } from '@dmaheap/native';

/** `_IOC` direction bits: the kernel writes the struct (`READ`), reads it (`WRITE`), or both. */
export const IOC_WRITE = 1;
export const IOC_READ = 2;

/** `_IOC(dir, type, nr, size)`: nr bits 0–7, type 8–15, size 16–29, dir 30–31. */
export function ioc(dir: number, type: string, nr: number, size: number): number {
  return ((dir << 30) | (size << 16) | (type.charCodeAt(0) << 8) | nr) >>> 0;
}
export const ior = (type: string, nr: number, size: number): number => ioc(IOC_READ, type, nr, size);
export const iow = (type: string, nr: number, size: number): number => ioc(IOC_WRITE, type, nr, size);
export const iowr = (type: string, nr: number, size: number): number => ioc(IOC_READ | IOC_WRITE, type, nr, size);

/** The direction and struct size a request number encodes. */
export function iocDecode(request: number): { dir: number; size: number } {
  return { dir: request >>> 30, size: (request >>> 16) & 0x3fff };
}

// node-gyp's build for this machine; the arm64 guest loads the cross-compiled one (scripts/rig-arm64.mjs).
const built = process.arch === 'arm64' ? '../../build/arm64/dmaheap_rig.node' : '../../build/Release/dmaheap_rig.node';
/** The rig's addon (rig/ioctl.c and rig/seed.c): each function returns a result or -errno, -EINVAL for bad arguments. */
export const rig = createRequire(import.meta.url)(fileURLToPath(new URL(built, import.meta.url))) as {
  ioctl(fd: number, request: number, arg: Uint8Array): number;
  seedLoop(heapFd: number, len: number, iterations: number): number;
};

/**
 * `ioctl(fd, request, arg)` with a pointer to `arg`'s bytes, for structs that carry no pointers. The request
 * must encode a direction and `arg` must hold the size it encodes (checked here and again in C), so the kernel
 * never touches memory past `arg`. Failures are system errors named after the request.
 */
export function ioctl(fd: number, request: number, arg: Uint8Array, name: string): number {
  const { dir, size } = iocDecode(request);
  if (dir === 0) throw invalidArgument(`${name}: request 0x${request.toString(16)} encodes no direction or size; the rig takes only _IOR/_IOW/_IOWR requests`);
  if (arg.byteLength < size) throw invalidArgument(`${name}: the struct is ${arg.byteLength} bytes, the request passes ${size}`, 'ERR_OUT_OF_RANGE');
  const r = rig.ioctl(fd, request, arg);
  if (r < 0) throw systemError(`ioctl(${name})`, r, { fd });
  return r;
}
