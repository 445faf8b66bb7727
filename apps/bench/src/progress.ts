// A one-line progress bar on stderr when it is a terminal; otherwise nothing (CI logs, the VM's serial console).
export class Progress {
  #done = 0;
  #label = '';

  constructor(
    readonly total: number,
    readonly enabled: boolean = Progress.wanted(),
  ) {}

  /** A terminal someone watches: not CI, not a dumb terminal (the VM's serial console is one). */
  static wanted(stream: { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
    return stream.isTTY === true && !env.CI && env.TERM !== 'dumb';
  }

  /** Starts the next step. */
  step(label: string): void {
    this.#label = label;
    this.#draw();
  }

  /** Marks the current step done. */
  tick(): void {
    this.#done++;
    this.#draw();
  }

  /** Prints a line above the bar. */
  log(line: string): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
    console.log(line);
    this.#draw();
  }

  end(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
  }

  /** The bar's text, for `width` columns. */
  render(width = 80): string {
    const cells = 24;
    const full = this.total ? Math.round((this.#done / this.total) * cells) : cells;
    const head = `[${'#'.repeat(full)}${'.'.repeat(cells - full)}] ${this.#done}/${this.total} `;
    return (head + this.#label).slice(0, Math.max(0, width - 1));
  }

  #draw(): void {
    if (!this.enabled) return;
    process.stderr.write('\r\x1b[K' + this.render(process.stderr.columns ?? 80));
  }
}
