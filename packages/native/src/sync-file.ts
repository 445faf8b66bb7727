// Implicit fences as sync_files (Linux 6.0+): a dma-buf's current fences exported as a sync_file fd, a sync_file
// attached to a dma-buf as a fence, and waiting for either without blocking.
import { NotSupportedError } from '@dmaheap/core';
import { constants as C, native } from './binding.js';
import { invalidArgument, systemError } from './errors.js';
import { checkFd, describe } from './validate.js';
import { waitFd, type WaitOptions } from './watch.js';

/** Whose fences: `'read'` what a reader must wait for (the writers), `'write'` what a writer must wait for (everyone). */
export type FenceAccess = 'read' | 'write' | 'readwrite';

function flags(access: unknown): number {
  if (access === 'read') return C.DMA_BUF_SYNC_READ;
  if (access === 'write') return C.DMA_BUF_SYNC_WRITE;
  if (access === 'readwrite') return C.DMA_BUF_SYNC_RW;
  throw invalidArgument(`The "access" argument must be 'read', 'write' or 'readwrite'. Received ${describe(access)}`);
}

function notSupported(what: string, r: number, fd: number): Error {
  const cause = systemError(`ioctl(${what})`, r, { fd });
  // ENOTTY: the kernel predates the ioctl (6.0), or the fd is not a dma-buf.
  return r === -25 ? new NotSupportedError(`${what} needs Linux 6.0 or newer and a dma-buf fd (${cause.message})`, { cause }) : cause;
}

/**
 * The dma-buf's current fences as a sync_file fd (`DMA_BUF_IOCTL_EXPORT_SYNC_FILE`): with `'read'` the writes a
 * reader must wait for, with `'write'` (or `'readwrite'`) every access a writer must wait for. Close it with
 * `closeFd`. Throws NotSupportedError on kernels before 6.0.
 */
export function exportSyncFile(fd: number, access: FenceAccess): number {
  checkFd(fd);
  const r = native.bufExportSyncFile(fd, flags(access));
  if (r < 0) throw notSupported('DMA_BUF_IOCTL_EXPORT_SYNC_FILE', r, fd);
  return r;
}

/**
 * Attaches a sync_file to the dma-buf as a fence (`DMA_BUF_IOCTL_IMPORT_SYNC_FILE`): as a write with `'write'`
 * (readers and writers then wait for it), as a read with `'read'` (writers wait for it). The sync_file stays the
 * caller's. Throws NotSupportedError on kernels before 6.0.
 */
export function importSyncFile(fd: number, syncFileFd: number, access: FenceAccess): void {
  checkFd(fd);
  checkFd(syncFileFd, 'syncFileFd');
  const r = native.bufImportSyncFile(fd, flags(access), syncFileFd);
  if (r < 0) throw notSupported('DMA_BUF_IOCTL_IMPORT_SYNC_FILE', r, fd);
}

/**
 * Resolves when the dma-buf is idle for `access`: `'read'` once its writers are done (poll POLLIN), `'write'`
 * once everyone is (POLLOUT). The event loop runs meanwhile; `timeoutMs` and `signal` end the wait early.
 * Takes an fd or anything with one (a DmaBuf: reading its `fd` marks it shared, as a device attached to it is).
 */
export function waitIdle(buffer: number | { readonly fd: number }, access: 'read' | 'write', options?: WaitOptions): Promise<void> {
  const fd = typeof buffer === 'number' ? buffer : buffer.fd;
  if (access !== 'read' && access !== 'write') return Promise.reject(invalidArgument(`The "access" argument must be 'read' or 'write'. Received ${describe(access)}`));
  return waitFd(fd, access === 'read' ? 'readable' : 'writable', options);
}

/** Resolves when a sync_file signals (poll POLLIN), as {@link waitIdle} does. */
export function waitSyncFile(syncFileFd: number, options?: WaitOptions): Promise<void> {
  return waitFd(syncFileFd, 'readable', options);
}
