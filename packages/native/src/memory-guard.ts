// Allocations that would leave less than a reserve of MemAvailable are refused with a typed error: past that
// point the kernel's system heap (its pages are not charged to any memory cgroup, measured) and shmem pages
// take memory until the OOM killer kills a process, instead of failing with ENOMEM.
import { totalmem } from 'node:os';
import { meminfoField, OutOfMemoryError } from '@dmaheap/core';

/** The amount of a /proc/meminfo field in bytes, or undefined (@dmaheap/core's reader: one parser for all). */
export const meminfo = (field: string): number | undefined => meminfoField(field);

/** Default reserve: 1/16 of the machine's memory, at most 256 MiB. */
export const DEFAULT_RESERVE = Math.min(256 * 1024 * 1024, Math.floor(totalmem() / 16));

export class MemoryGuard {
  /** MemAvailable as last read, less what was allocated since. */
  #estimate = Number.NEGATIVE_INFINITY;
  #sinceRead = 0;

  /**
   * @param reserveBytes - MemAvailable that must stay after an allocation
   * @param readEvery - bytes of allocations between two reads of /proc/meminfo
   */
  constructor(
    readonly reserveBytes = DEFAULT_RESERVE,
    readonly readEvery = 16 * 1024 * 1024,
  ) {}

  /** Throws OutOfMemoryError when `size` more bytes would leave less than the reserve. */
  check(size: number, heap: string): void {
    this.#estimate -= size;
    this.#sinceRead += size;
    if (this.#estimate >= this.reserveBytes && this.#sinceRead < this.readEvery) return;
    // Re-read before deciding: memory freed since the last read counts.
    const available = meminfo('MemAvailable');
    this.#sinceRead = 0;
    if (available === undefined) {
      this.#estimate = Number.POSITIVE_INFINITY;
      return;
    }
    this.#estimate = available - size;
    if (this.#estimate < this.reserveBytes) {
      this.#estimate = available;
      throw new OutOfMemoryError(
        `heap "${heap}": ${size} bytes asked, ${available} available (MemAvailable), ${this.reserveBytes} kept in reserve: ` +
          'refused before the kernel would invoke the OOM killer',
        { heap },
      );
    }
  }
}
