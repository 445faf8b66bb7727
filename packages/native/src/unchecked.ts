// The system calls heaps make on every allocation, without argument checks: for heap implementations that
// pass only values they built themselves (fds they own, page-rounded sizes, item lists they assembled).
// Under emulation each JavaScript call costs microseconds, and these arguments were valid by construction.
// Failures still become Node-shaped system errors; the C layer still refuses wrong JavaScript types.
import { native } from './binding.js';
import { systemError } from './errors.js';

export const unchecked = {
  /** `close(fd)`. */
  close(fd: number): void {
    const r = native.close(fd);
    if (r < 0) throw systemError('close', r, { fd });
  },
  /** `DMA_HEAP_IOCTL_ALLOC`; `fdFlags` must already hold O_CLOEXEC if wanted. */
  heapAlloc(heapFd: number, len: number, fdFlags: number): number {
    const r = native.heapAlloc(heapFd, len, fdFlags, 0);
    if (r < 0) throw systemError('ioctl(DMA_HEAP_IOCTL_ALLOC)', r, { fd: heapFd });
    return r;
  },
  /** `UDMABUF_CREATE_LIST` from the first `count` `[memfd, offset, size]` triples (page-aligned, at most `list_limit`). */
  udmabufCreateList(devFd: number, flags: number, triples: Float64Array, count = triples.length / 3): number {
    const r = native.udmabufCreateList(devFd, flags, triples, count);
    if (r < 0) throw systemError('ioctl(UDMABUF_CREATE_LIST)', r, { fd: devFd });
    return r;
  },
};
