// A DmaBuf for a dma-buf fd that came from elsewhere (another process over a socket, an importer, a parent): the
// same handle a producer has, its size and exporter read from the kernel, its name from fdinfo.
import { AbstractHeap, InvalidArgumentError, type DmaBuf, type HeapCapabilities } from '@dmaheap/core';
import { native } from './binding.js';
import { systemError } from './errors.js';
import { dmaBufOps } from './kernel-heap.js';
import { readFdInfo } from './proc.js';
import { checkFd, PAGE_SIZE } from './validate.js';

/** The pseudo-heap of imported buffers: it allocates nothing, it only adopts fds. */
class ImportedBuffers extends AbstractHeap {
  readonly name = 'import';
  readonly capabilities: HeapCapabilities = { contiguous: false, cached: true, alignment: PAGE_SIZE, backing: 'import' };

  protected _allocate(): DmaBuf {
    throw new InvalidArgumentError('the "import" heap allocates nothing: importDmaBuf(fd) adopts a dma-buf fd', { heap: this.name });
  }

  adopt(fd: number, size: number, name: string | undefined): DmaBuf {
    return this.buffer({
      fd,
      size,
      ops: dmaBufOps,
      name,
      // Someone else made it and may still use it: every CPU-access bracket is a real DMA_BUF_IOCTL_SYNC.
      skipSyncUntilShared: false,
      release: () => native.close(fd),
    });
  }

  override close(): void {} // shared by every import: never closed
}

const imported = new ImportedBuffers();

/** What the kernel says about a dma-buf fd. */
export interface ImportedInfo {
  size: number;
  exporter: string;
  name: string | undefined;
}

/** Size (from lseek), exporter and name (from fdinfo) of a dma-buf fd; throws InvalidArgumentError for other fds. */
export function dmaBufInfo(fd: number): ImportedInfo {
  checkFd(fd);
  const info = readFdInfo(fd);
  if (info.expName === undefined) throw new InvalidArgumentError(`fd ${fd} is not a dma-buf (its fdinfo has no exp_name)`);
  const size = native.fdSize(fd);
  if (size < 0) throw systemError('lseek', size, { fd });
  return { size, exporter: info.expName, name: info.name || undefined };
}

/**
 * A DmaBuf over a dma-buf fd received from elsewhere; it takes the fd over (closing the DmaBuf closes it). Its
 * `heap.name` is `'import'`; `info().exporter` says who made it. CPU-access brackets always sync: its maker or a
 * device may be using it.
 */
export function importDmaBuf(fd: number): DmaBuf {
  const { size, name } = dmaBufInfo(fd);
  return imported.adopt(fd, size, name);
}
