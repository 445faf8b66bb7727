// The seed benchmark's loop in C (`@dmaheap/vm/rig`), for apps/bench: the floor any JavaScript heap is measured
// against. It lives in the rig's addon (rig/seed.c), never published; the arguments are checked here.
import { invalidArgument, systemError } from '@dmaheap/native';
import { rig } from './ioc.js';

function checkInt(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgument(`The "${name}" argument must be of type number. Received ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidArgument(`The value of "${name}" is out of range. It must be an integer >= ${min} && <= ${max}. Received ${String(value)}`, 'ERR_OUT_OF_RANGE');
  }
  return value;
}

/**
 * The dma-buf heap selftest loop, run entirely in C: `iterations` × (`DMA_HEAP_IOCTL_ALLOC` of `len` bytes with
 * `O_RDWR|O_CLOEXEC`, then close), timed with CLOCK_MONOTONIC. Blocks the thread.
 *
 * @returns total nanoseconds
 * @throws ERR_INVALID_ARG_VALUE / ERR_OUT_OF_RANGE for an fd that is not an int32 >= 0, or a `len` or `iterations`
 *   that is not a positive safe integer; a system error (`syscall: 'ioctl(DMA_HEAP_IOCTL_ALLOC)'`, `fd: heapFd`) of the first failure
 */
export function seedLoop(heapFd: number, len: number, iterations: number): number {
  checkInt(heapFd, 'heapFd', 0, 0x7fffffff);
  checkInt(len, 'len', 1, Number.MAX_SAFE_INTEGER);
  checkInt(iterations, 'iterations', 1, Number.MAX_SAFE_INTEGER);
  const r = rig.seedLoop(heapFd, len, iterations);
  if (r < 0) throw systemError('ioctl(DMA_HEAP_IOCTL_ALLOC)', r, { fd: heapFd });
  return r;
}
