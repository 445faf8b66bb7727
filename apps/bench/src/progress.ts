// Progress: a one-line bar on stderr when it is a terminal someone watches; inside the VM, where the app writes
// to a pipe, machine-readable lines (`@@progress {...}`) that scripts/bench.mjs takes out of the output and
// draws as the bar on the host's terminal. Otherwise nothing (CI logs).

export interface ProgressEvent {
  done: number;
  total: number;
  label: string;
  /** Estimated time left, ms. */
  leftMs?: number;
}

export const PROGRESS_PREFIX = '@@progress ';

export function progressLine(e: ProgressEvent): string {
  return PROGRESS_PREFIX + JSON.stringify(e);
}

/** The event a `@@progress` line carries, or undefined for any other line (or a malformed one). */
export function parseProgressLine(line: string): ProgressEvent | undefined {
  if (!line.startsWith(PROGRESS_PREFIX)) return undefined;
  try {
    const e = JSON.parse(line.slice(PROGRESS_PREFIX.length)) as Partial<ProgressEvent>;
    if (typeof e.done !== 'number' || typeof e.total !== 'number' || typeof e.label !== 'string') return undefined;
    return { done: e.done, total: e.total, label: e.label, ...(typeof e.leftMs === 'number' ? { leftMs: e.leftMs } : {}) };
  } catch {
    return undefined;
  }
}

/** `45 s`, `3 min 05 s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** The bar's text for `width` columns: `[#####.......] 12/40 ~2 min 10 s left  seed kernel 4 KiB`. */
export function renderBar(e: ProgressEvent, width = 80, prefix = ''): string {
  const cells = 24;
  const full = e.total ? Math.min(cells, Math.round((e.done / e.total) * cells)) : cells;
  const left = e.leftMs !== undefined ? `~${formatDuration(e.leftMs)} left ` : '';
  const head = `${prefix}[${'#'.repeat(full)}${'.'.repeat(cells - full)}] ${e.done}/${e.total} ${left}`;
  return (head + e.label).slice(0, Math.max(0, width - 1));
}

/** A terminal someone watches: not CI, not a dumb terminal (the VM's serial console is one). */
export function barWanted(stream: { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env['CI'] && env['TERM'] !== 'dumb';
}

/**
 * Time left from what ran so far: a task that ran before under the same key (a heap at a size, in another
 * round) is expected to take as long again; any other its estimate, scaled by how far the estimates of the
 * tasks run so far were off.
 */
export class Eta {
  readonly #history = new Map<string, { ms: number; n: number }>();
  #estimated = 0;
  #actual = 0;

  record(key: string, estimateMs: number, actualMs: number): void {
    const h = this.#history.get(key);
    if (h) {
      h.ms += actualMs;
      h.n++;
    } else {
      this.#history.set(key, { ms: actualMs, n: 1 });
      this.#estimated += estimateMs;
      this.#actual += actualMs;
    }
  }

  predict(key: string, estimateMs: number): number {
    const h = this.#history.get(key);
    if (h) return h.ms / h.n;
    return this.#estimated > 0 ? estimateMs * (this.#actual / this.#estimated) : estimateMs;
  }

  left(tasks: Iterable<{ key: string; estimateMs: number }>): number {
    let ms = 0;
    for (const t of tasks) ms += this.predict(t.key, t.estimateMs);
    return ms;
  }
}

export type ProgressMode = 'bar' | 'lines' | 'off';

/** The mode for this process: lines when scripts/bench.mjs asked for them (DMAHEAP_PROGRESS=lines), else a bar on a watched terminal. */
export function progressMode(stream: { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): ProgressMode {
  if (env['DMAHEAP_PROGRESS'] === 'lines') return 'lines';
  return barWanted(stream, env) ? 'bar' : 'off';
}

export class Progress {
  #done = 0;
  #label = '';
  #leftMs: number | undefined;

  constructor(
    readonly total: number,
    readonly mode: ProgressMode = progressMode(),
    readonly write: (text: string) => void = (t) => process.stderr.write(t),
  ) {}

  /** Starts the next step; `leftMs`: the time left, estimated. */
  step(label: string, leftMs?: number): void {
    this.#label = label;
    this.#leftMs = leftMs;
    this.#draw();
  }

  /** Marks the current step done. */
  tick(): void {
    this.#done++;
    this.#draw();
  }

  /** Prints a line above the bar. */
  log(line: string): void {
    if (this.mode === 'bar') this.write('\r\x1b[K');
    console.log(line);
    if (this.mode === 'bar') this.#draw();
  }

  end(): void {
    if (this.mode === 'bar') this.write('\r\x1b[K');
  }

  event(): ProgressEvent {
    return { done: this.#done, total: this.total, label: this.#label, ...(this.#leftMs !== undefined ? { leftMs: Math.round(this.#leftMs) } : {}) };
  }

  /** The bar's text, for `width` columns. */
  render(width = 80): string {
    return renderBar(this.event(), width);
  }

  #draw(): void {
    if (this.mode === 'bar') this.write('\r\x1b[K' + this.render(process.stderr.columns ?? 80));
    // On stdout, in order with the other lines, so that the host sees them where they happened.
    else if (this.mode === 'lines') console.log(progressLine(this.event()));
  }
}
