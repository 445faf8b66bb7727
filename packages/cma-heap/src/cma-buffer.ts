// A CMA buffer: a DmaBuf that also knows its pages (one contiguous block, with the frame numbers where the CMA
// allocator's bitmap showed them) and maps page ranges of itself.
import { ClosedError, DmaBuf, fdOf, fromSystemError, InvalidArgumentError, PAGE_SIZE, type DmaBufInit, type PageList } from '@dmaheap/core';
import { mmapFd, munmap } from '@dmaheap/native';

/** What userspace could see of where a buffer landed in physical memory. */
export type CmaPlacement =
  | {
      /** The buffer's pages are one run of consecutive frames, seen in the CMA allocator's bitmap. */
      contiguous: true;
      firstPfn: bigint;
      /** The alignment of the first frame, as an order of pages (the largest power of two dividing it). */
      alignOrder: number;
    }
  | {
      /** Not seen: why (not asked for, no debugfs, an allocation raced with it, not a CMA area). */
      contiguous: undefined;
      reason: string;
    };

/** Partial mappings of one buffer, shared between the buffer and its release (which must not refer to it). */
export type Ranges = Map<string, ArrayBuffer>;

export function unmapAll(ranges: Ranges): void {
  for (const mapping of ranges.values()) munmap(mapping);
  ranges.clear();
}

/** What a CmaBuffer knows beyond a DmaBuf. */
export interface CmaBufferParts {
  region: string;
  pageList: PageList;
  placement: CmaPlacement;
  ranges: Ranges;
}

/** A buffer from {@link cmaHeap}: a DmaBuf that also knows its pages and maps page ranges of itself. */
export class CmaBuffer extends DmaBuf {
  /** The heap (CMA area) it came from. */
  readonly region: string;
  /** Its pages, in order: one contiguous block (with the frame numbers when they could be seen). */
  readonly pageList: PageList;
  /** Where it landed, when userspace could see it (option `locate`). */
  readonly placement: CmaPlacement;
  readonly #ranges: Ranges;

  constructor(init: DmaBufInit, parts: CmaBufferParts) {
    super(init);
    this.region = parts.region;
    this.pageList = parts.pageList;
    this.placement = parts.placement;
    this.#ranges = parts.ranges;
  }

  /**
   * `map()`: the whole buffer, one mapping reused until `unmap()`. `map(offset, length)`: only the pages
   * holding bytes `offset` to `offset + length` are mapped (a 64 MiB buffer need not be mapped whole to touch one
   * line); the view is exactly those `length` bytes. A range mapped again is the same mapping. Every mapping
   * is unmapped by `unmap()` and when the buffer closes. Bracket CPU access with `beginCpuAccess` as for the whole.
   */
  override map(offset?: number, length?: number): Uint8Array {
    if (offset === undefined && length === undefined) return super.map();
    if (this.closed) {
      throw new ClosedError(`map() on a closed dma-buf from heap "${this.heap.name}"`, { heap: this.heap.name });
    }
    const off = offset ?? 0;
    const len = length ?? this.size - off;
    if (!Number.isSafeInteger(off) || off < 0 || !Number.isSafeInteger(len) || len <= 0 || off + len > this.size) {
      throw new InvalidArgumentError(
        `map(offset, length) needs integers with 0 <= offset, 0 < length and offset + length <= ${this.size} (the buffer's size), got ${String(offset)}, ${String(length)}`,
        { heap: this.heap.name },
      );
    }
    const first = Math.floor(off / PAGE_SIZE) * PAGE_SIZE;
    const end = Math.ceil((off + len) / PAGE_SIZE) * PAGE_SIZE;
    const key = `${first}:${end}`;
    let mapping = this.#ranges.get(key);
    if (!mapping) {
      try {
        mapping = mmapFd(fdOf(this), { offset: first, length: end - first });
      } catch (err) {
        throw fromSystemError(err, this.heap.name, 'map');
      }
      this.#ranges.set(key, mapping);
    }
    return new Uint8Array(mapping, off - first, len);
  }

  /**
   * `unmap()`: unmaps the whole-buffer mapping and every range (their views become detached, length 0).
   * `unmap(view)`: only the range mapping behind `view`. Harmless when not mapped.
   */
  override unmap(view?: Uint8Array): void {
    if (view === undefined) {
      try {
        super.unmap();
      } finally {
        unmapAll(this.#ranges);
      }
      return;
    }
    for (const [key, mapping] of this.#ranges) {
      if (mapping === view.buffer) {
        this.#ranges.delete(key);
        munmap(mapping);
        return;
      }
    }
    // The whole-buffer view, or one already unmapped (detached: its buffer has length 0).
    if (this.mapped && view.buffer === super.map().buffer) super.unmap();
  }

  /** Page ranges mapped now (not counting the whole-buffer mapping). */
  get mappedRanges(): number {
    return this.#ranges.size;
  }
}
