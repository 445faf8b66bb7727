// The seed's benchmark loop, entirely in C: the floor any JavaScript heap is measured against.
import { native } from './binding.js';
import { check, checkFd, checkSize } from './validate.js';

/**
 * The dma-buf heap selftest loop, run entirely in C: `iterations` × (`DMA_HEAP_IOCTL_ALLOC` of
 * `len` bytes with `O_RDWR|O_CLOEXEC`, then close), timed with CLOCK_MONOTONIC. Blocks the thread.
 *
 * @returns total nanoseconds
 * @throws system error (`syscall: 'ioctl(DMA_HEAP_IOCTL_ALLOC)'`, `fd: heapFd`) of the first failure
 */
export function seedLoop(heapFd: number, len: number, iterations: number): number {
  checkFd(heapFd, 'heapFd');
  checkSize(len, 'len');
  checkSize(iterations, 'iterations');
  return check(native.seedLoop(heapFd, len, iterations), 'ioctl(DMA_HEAP_IOCTL_ALLOC)', { fd: heapFd });
}
