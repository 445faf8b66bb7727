// The Android kernel's deferred free, in userspace: a buffer still held by someone else (another process, an
// importer, a foreign mapping) waits here, and is freed once nobody holds it; checked on a timer and on demand.

export class DeferredFrees<T> {
  readonly #pending: T[] = [];
  #timer: NodeJS.Timeout | undefined;

  /**
   * @param heldElsewhere - whether an entry is still held by someone else
   * @param free - frees an entry nobody holds any more
   * @param intervalMs - how often waiting entries are checked again
   */
  constructor(
    private readonly heldElsewhere: (entry: T) => boolean,
    private readonly free: (entry: T) => void,
    private readonly intervalMs: number,
  ) {}

  /** Entries still waiting. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Adds an entry to wait, and starts the timer if it is not running (unref'd: it never keeps a process alive). */
  add(entry: T): void {
    this.#pending.push(entry);
    if (this.#timer) return;
    this.#timer = setInterval(() => this.collect(), this.intervalMs);
    this.#timer.unref();
  }

  /** Frees the entries nobody holds any more; returns how many still wait. */
  collect(): number {
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      const entry = this.#pending[i]!;
      if (this.heldElsewhere(entry)) continue;
      this.#pending.splice(i, 1);
      this.free(entry);
    }
    if (this.#pending.length === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    return this.#pending.length;
  }

  /** Stops checking and hands back the entries still waiting. */
  close(): T[] {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    return this.#pending.splice(0);
  }
}
