// Loads the compiled addon (build/Release or prebuilds/) and types its raw interface.
// Every function returns a non-negative result or -errno. The addon checks JavaScript types only: an argument of
// the wrong type, or a missing one, throws a TypeError that names it (code ERR_INVALID_ARG_TYPE); ranges it leaves
// to the kernel, so call these only through the validating wrappers (fds.ts, dmabuf.ts, mappings.ts, memfd.ts,
// udmabuf.ts).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Numbers from the C headers (and `PAGE_SIZE` from sysconf) that the TypeScript side needs. */
export interface NativeConstants {
  readonly O_RDONLY: number;
  readonly O_WRONLY: number;
  readonly O_RDWR: number;
  readonly O_CLOEXEC: number;
  readonly O_ACCMODE: number;
  readonly MFD_CLOEXEC: number;
  readonly MFD_ALLOW_SEALING: number;
  readonly MFD_HUGETLB: number;
  readonly MFD_HUGE_SHIFT: number;
  readonly MFD_HUGE_2MB: number;
  readonly MFD_HUGE_1GB: number;
  readonly F_SEAL_SEAL: number;
  readonly F_SEAL_SHRINK: number;
  readonly F_SEAL_GROW: number;
  readonly F_SEAL_WRITE: number;
  readonly F_SEAL_FUTURE_WRITE: number;
  readonly FALLOC_FL_KEEP_SIZE: number;
  readonly FALLOC_FL_PUNCH_HOLE: number;
  readonly MADV_DONTNEED: number;
  readonly MADV_REMOVE: number;
  readonly MADV_HUGEPAGE: number;
  readonly MADV_NOHUGEPAGE: number;
  readonly MADV_POPULATE_READ: number;
  readonly MADV_POPULATE_WRITE: number;
  readonly MADV_WILLNEED: number;
  readonly PROT_READ: number;
  readonly PROT_WRITE: number;
  readonly DMA_BUF_SYNC_READ: number;
  readonly DMA_BUF_SYNC_WRITE: number;
  readonly DMA_BUF_SYNC_RW: number;
  readonly DMA_BUF_SYNC_START: number;
  readonly DMA_BUF_SYNC_END: number;
  readonly UDMABUF_FLAGS_CLOEXEC: number;
  readonly SOCK_STREAM: number;
  readonly SOCK_DGRAM: number;
  readonly SOCK_SEQPACKET: number;
  readonly MSG_CTRUNC: number;
  readonly MSG_TRUNC: number;
  readonly EAGAIN: number;
  readonly PAGE_SIZE: number;
}

/** The raw addon. Results are `>= 0` on success, `-errno` on failure; a wrong JavaScript type throws a TypeError. */
export interface NativeBinding {
  open(path: string, flags: number, mode: number): number;
  close(fd: number): number;
  /** fcntl(fd, F_DUPFD_CLOEXEC, 0). */
  dup(fd: number): number;
  heapAlloc(heapFd: number, len: number, fdFlags: number, heapFlags: number): number;
  /**
   * heapAlloc with the ioctl on libuv's thread pool: the new fd or -errno, as a promise that never rejects. The
   * fd is recorded against this thread's environment when the job completes; one completing while the
   * environment is torn down is closed.
   */
  heapAllocAsync(heapFd: number, len: number, fdFlags: number, heapFlags: number): Promise<number>;
  /** DMA_BUF_IOCTL_SYNC, restarted on EINTR/EAGAIN. */
  bufSync(fd: number, flags: number): number;
  bufSetName(fd: number, name: string): number;
  /** A MAP_SHARED mapping as an external ArrayBuffer, or -errno. Throws only ERR_DMAHEAP_NO_EXTERNAL_BUFFERS. */
  mmap(fd: number, offset: number, length: number, prot: number): ArrayBuffer | number;
  /** Detaches the ArrayBuffer and unmaps; 0 when it is not (or no longer) a mapping; 1 when it was detached by a transfer and the memory lives on in another ArrayBuffer. */
  munmap(mapping: ArrayBuffer): number;
  /** The mapping's address, 0n when `mapping` is not a live mapping. */
  mappingAddress(mapping: ArrayBuffer): bigint;
  madvise(mapping: ArrayBuffer, offset: number, length: number, advice: number): number;
  memfdCreate(name: string, flags: number): number;
  ftruncate(fd: number, len: number): number;
  fallocate(fd: number, mode: number, offset: number, len: number): number;
  addSeals(fd: number, seals: number): number;
  getSeals(fd: number): number;
  udmabufCreate(devFd: number, memfd: number, offset: number, size: number, flags: number): number;
  /** `items` holds [memfd, offset, size] triples. */
  udmabufCreateList(devFd: number, flags: number, items: Float64Array, count?: number): number;
  /** DMA_BUF_IOCTL_EXPORT_SYNC_FILE: a sync_file fd of the dma-buf's fences for `flags` (DMA_BUF_SYNC_READ/WRITE). */
  bufExportSyncFile(fd: number, flags: number): number;
  /** DMA_BUF_IOCTL_IMPORT_SYNC_FILE. */
  bufImportSyncFile(fd: number, flags: number, syncFd: number): number;
  /** lseek(fd, 0, SEEK_END), then back to 0: a dma-buf's size. */
  fdSize(fd: number): number;
  /** sendmsg(MSG_DONTWAIT | MSG_NOSIGNAL) of `data` with the first `count` of `fds` as SCM_RIGHTS: bytes sent. */
  sendFds(sock: number, data: Uint8Array, fds: Int32Array, count: number): number;
  /** recvmsg(MSG_DONTWAIT | MSG_CMSG_CLOEXEC) into `data`, up to fds.length fds; meta = [bytes, fds, msg_flags]. */
  recvFds(sock: number, data: Uint8Array, fds: Int32Array, meta: Int32Array): number;
  /** socketpair(AF_UNIX, type | SOCK_CLOEXEC) into out[0], out[1]. */
  socketPair(type: number, out: Int32Array): number;
  /** getsockopt(SO_TYPE) of a Unix socket; -EAFNOSUPPORT for other domains. */
  socketType(fd: number): number;
  /** A libuv poll watcher (events: 1 readable, 4 writable) calling back (status, events) until unwatch. */
  watch(fd: number, events: number, callback: (status: number, events: number) => void): unknown;
  unwatch(handle: unknown): number;
  readonly constants: NativeConstants;
}

const require = createRequire(import.meta.url);
const load = require('node-gyp-build') as (dir: string) => unknown;

/** The addon, loaded from this package's root (works from both src/ and dist/). */
export const native: NativeBinding = load(fileURLToPath(new URL('..', import.meta.url))) as NativeBinding;

export const constants: NativeConstants = native.constants;
