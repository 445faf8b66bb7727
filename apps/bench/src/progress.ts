// Progress: a one-line bar on stderr when it is a terminal someone watches; inside the VM, where the app writes
// to a pipe, machine-readable lines (`@@progress {...}`) that scripts/bench.mjs takes out of the output and draws
// as the bar on the host's terminal. Otherwise nothing (CI logs).

export interface ProgressEvent { done: number; total: number; label: string; /** Estimated time left, ms. */ leftMs?: number }
const PREFIX = '@@progress ';
export const progressLine = (e: ProgressEvent): string => PREFIX + JSON.stringify(e);

/** The event a `@@progress` line carries, or undefined for any other line (or a malformed one). */
export function parseProgressLine(line: string): ProgressEvent | undefined {
  try {
    const e = line.startsWith(PREFIX) ? (JSON.parse(line.slice(PREFIX.length)) as ProgressEvent) : undefined;
    return typeof e?.done === 'number' && typeof e.total === 'number' && typeof e.label === 'string' ? e : undefined;
  } catch {
    return undefined;
  }
}

/** `45 s`, `3 min 05 s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** The bar for `width` columns: `[#####.......] 12/40 ~2 min 10 s left seed kernel 4 KiB`. */
export function renderBar(e: ProgressEvent, width = 80, prefix = ''): string {
  const full = e.total ? Math.min(24, Math.round((e.done / e.total) * 24)) : 24;
  const left = e.leftMs !== undefined ? `~${formatDuration(e.leftMs)} left ` : '';
  return `${prefix}[${'#'.repeat(full)}${'.'.repeat(24 - full)}] ${e.done}/${e.total} ${left}${e.label}`.slice(0, Math.max(0, width - 1));
}

/** A terminal someone watches: not CI, not a dumb terminal (the VM's serial console is one). */
export const barWanted = (stream: { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean =>
  stream.isTTY === true && !env['CI'] && env['TERM'] !== 'dumb';

/** Lines when scripts/bench.mjs asks for them (DMAHEAP_PROGRESS=lines), else a bar on a watched terminal. */
export const progressMode = (stream: { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): 'bar' | 'lines' | 'off' =>
  env['DMAHEAP_PROGRESS'] === 'lines' ? 'lines' : barWanted(stream, env) ? 'bar' : 'off';

/**
 * The progress over the planned tasks, in order, with the time left: a task that ran before under the same key (a heap at a size, in another round)
 * is expected to take as long again; any other its estimate, scaled by how far the estimates of the tasks run so far were off.
 */
export class Progress {
  #done = 0;
  #label = '';
  #leftMs: number | undefined;
  readonly #history = new Map<string, { ms: number; n: number }>();
  readonly #scale = { estimated: 0, actual: 0 };

  constructor(
    readonly tasks: ReadonlyArray<{ key: string; estimateMs: number }>,
    readonly mode = progressMode(),
    readonly write: (text: string) => void = (t) => process.stderr.write(t),
  ) {}

  /** Starts the next task. */
  step(label: string): void {
    this.#label = label;
    this.#leftMs = this.tasks.slice(this.#done).reduce((ms, t) => ms + this.predict(t.key, t.estimateMs), 0);
    this.#draw();
  }

  /** The current task is done; `ms`: what it took (none when it did not run, or failed). */
  tick(ms?: number): void {
    const t = this.tasks[this.#done++];
    if (t && ms !== undefined) {
      const h = this.#history.get(t.key);
      if (!h) [this.#scale.estimated, this.#scale.actual] = [this.#scale.estimated + t.estimateMs, this.#scale.actual + ms]; // a first run: how far its estimate was off
      this.#history.set(t.key, { ms: (h?.ms ?? 0) + ms, n: (h?.n ?? 0) + 1 });
    }
    this.#draw();
  }

  predict(key: string, estimateMs: number): number {
    const h = this.#history.get(key);
    return h ? h.ms / h.n : this.#scale.estimated > 0 ? estimateMs * (this.#scale.actual / this.#scale.estimated) : estimateMs;
  }

  /** Prints a line above the bar. */
  log(line: string): void {
    this.end();
    console.log(line);
    if (this.mode === 'bar') this.#draw();
  }

  end(): void {
    if (this.mode === 'bar') this.write('\r\x1b[K');
  }

  event(): ProgressEvent {
    return { done: this.#done, total: this.tasks.length, label: this.#label, ...(this.#leftMs !== undefined ? { leftMs: Math.round(this.#leftMs) } : {}) };
  }

  #draw(): void {
    if (this.mode === 'bar') this.write('\r\x1b[K' + renderBar(this.event(), process.stderr.columns ?? 80));
    // On stdout, in order with the other lines, so that the host sees them where they happened.
    else if (this.mode === 'lines') console.log(progressLine(this.event()));
  }
}
