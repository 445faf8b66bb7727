// An arena: one sealed memfd, carved into chunks aligned to their own size. Chunks given back to the kernel
// (punched) are kept as spare ranges, which read as zero when the kernel faults them in again.
import { InvalidStateError } from '@dmaheap/core';
import { addSeals, closeFd, fallocate, ftruncate, memfdCreate, mmapFd, munmap } from '@dmaheap/native';

export class Arena {
  readonly #fd: number;
  #closed = false;
  readonly size: number;
  readonly id: number;
  #next = 0;
  readonly #spare = new Map<number, number[]>();

  constructor(id: number, size: number) {
    this.id = id;
    this.size = size;
    this.#fd = memfdCreate(`dmaheap-system-${id}`, { allowSealing: true });
    try {
      ftruncate(this.#fd, size);
      // udmabuf needs the shrink seal: pages it pins can never be truncated away under it.
      addSeals(this.#fd, ['shrink', 'grow']);
    } catch (err) {
      closeFd(this.#fd);
      throw err;
    }
  }

  /**
   * The memfd, while the arena is open. Once closed its number may belong to any file the program opens next,
   * so every use after close() is refused.
   */
  get fd(): number {
    if (this.#closed) throw new InvalidStateError(`arena ${this.id} of the system heap is closed`);
    return this.#fd;
  }

  /** Bytes of address space handed out so far (spare ranges included). */
  get used(): number {
    return this.#next;
  }

  /**
   * A free range of `bytes` (a power of two) aligned to `bytes`, or undefined when the arena is full. Its pages
   * are left to udmabuf: pinning a page the file does not have yet makes shmem allocate it and clear it.
   * (Never fallocate: it gives the file pages without clearing them, shmem clears a page only on its first read
   * or fault, and udmabuf pins what it finds as it is; on a kernel without init_on_alloc the dma-buf then shows
   * whatever that memory held before, up to Debian's 6.12.117. tests/fresh-pages.noinit.vm.test.ts has the
   * control, which reports what the running kernel does: @dmaheap/native's probeFallocatedUdmabuf.)
   */
  carve(bytes: number): number | undefined {
    return this.#take(bytes);
  }

  #take(bytes: number): number | undefined {
    const spare = this.#spare.get(bytes)?.pop();
    if (spare !== undefined) return spare;
    const offset = Math.ceil(this.#next / bytes) * bytes;
    if (offset + bytes > this.size) return undefined;
    // Alignment gaps become spare ranges of the largest sizes that fit, so no address space is lost.
    for (let gap = this.#next; gap < offset; ) {
      let g = 4096;
      while (gap % (g * 2) === 0 && gap + g * 2 <= offset) g *= 2;
      this.#giveSpare(gap, g);
      gap += g;
    }
    this.#next = offset + bytes;
    return offset;
  }

  /** Gives a range's pages back to the kernel; the range is kept for reuse and reads as zero. */
  punch(offset: number, bytes: number): void {
    fallocate(this.fd, offset, bytes, { punchHole: true });
    this.#giveSpare(offset, bytes);
  }

  /**
   * Zeroes a range through a mapping of just that range. (Mapping the whole arena once looked cheaper, but
   * reporting a 1 GiB mapping to V8 as external memory set off a full garbage collection: 170-330 ms in the VM.)
   */
  zero(offset: number, bytes: number): void {
    const mapping = mmapFd(this.fd, { offset, length: bytes });
    try {
      new Uint8Array(mapping).fill(0);
    } finally {
      munmap(mapping);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeFd(this.#fd);
  }

  #giveSpare(offset: number, bytes: number): void {
    const list = this.#spare.get(bytes) ?? [];
    list.push(offset);
    this.#spare.set(bytes, list);
  }
}
