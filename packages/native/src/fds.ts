// fds: device nodes opened close-on-exec, closed, duplicated.
import { constants as C, native } from './binding.js';
import { check, checkBool, checkFd, checkFlags, checkOptions, checkString } from './validate.js';

/**
 * Opens a device node (a dma-buf heap such as `/dev/dma_heap/system`, read-only; `/dev/udmabuf`,
 * read-write). `O_CLOEXEC` is added unless `options.cloexec` is false.
 *
 * @param path - the device path (a string without NUL)
 * @param flags - `O_RDONLY` (default), `O_WRONLY`, `O_RDWR`, optionally `| O_CLOEXEC`; nothing else
 * @returns the new fd; close it with {@link closeFd}
 * @throws system error (`syscall: 'open'`, with `path`) such as ENOENT, EACCES
 */
export function openDevice(path: string, flags: number = C.O_RDONLY, options?: { cloexec?: boolean }): number {
  checkString(path, 'path');
  const f = checkFlags(flags, 'flags', C.O_ACCMODE | C.O_CLOEXEC);
  const cloexec = checkBool(checkOptions<{ cloexec: boolean }>(options).cloexec, 'cloexec', true);
  return check(native.open(path, f | (cloexec ? C.O_CLOEXEC : 0), 0), 'open', { path });
}

/**
 * Closes an fd. EINTR is treated as success: on Linux the fd is gone either way.
 *
 * @throws system error (`syscall: 'close'`, with `fd`), e.g. EBADF
 */
export function closeFd(fd: number): void {
  checkFd(fd);
  const r = native.close(fd);
  if (r === -4 /* EINTR */) return;
  check(r, 'close', { fd });
}

/**
 * Duplicates an fd with `fcntl(F_DUPFD_CLOEXEC)` (the copy is close-on-exec).
 *
 * @returns the new fd (a second reference to the same open file)
 * @throws system error (`syscall: 'fcntl(F_DUPFD_CLOEXEC)'`, with `fd`), e.g. EBADF, EMFILE
 */
export function dupFd(fd: number): number {
  checkFd(fd);
  return check(native.dup(fd), 'fcntl(F_DUPFD_CLOEXEC)', { fd });
}
