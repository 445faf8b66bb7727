// Memory pressure from Linux PSI (/proc/pressure/memory). Sampling the cumulative stall time is enough to
// notice pressure within an interval, needs no poll(2) on POLLPRI, and costs one small read per interval.
import { readFileSync } from 'node:fs';
import { checks, type OptionCheck } from '@dmaheap/core';

export interface PressureOptions {
  /** How often to sample, ms. Default 1000. */
  intervalMs?: number;
  /** Stall time (µs of `some` memory stall) within one interval that counts as pressure. Default 50 000 (5%). */
  stallUs?: number;
  /** The PSI file. Default `/proc/pressure/memory`. */
  file?: string;
}

/** `pressure` option: on/off, or the sampling settings. */
export const pressureOption: OptionCheck = checks.either(
  checks.boolean,
  checks.object({ intervalMs: checks.positiveInteger, stallUs: checks.positiveInteger, file: checks.string }),
);

/** Cumulative `some` memory stall in µs, or undefined where PSI is not available. */
export function readMemoryStall(file = '/proc/pressure/memory'): number | undefined {
  try {
    const m = /^some .*total=(\d+)/m.exec(readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Calls `onPressure` when the memory stall within an interval exceeds the threshold. Listeners share one timer. */
export class PressureMonitor {
  static #monitors = new Set<PressureMonitor>();
  static #timers = new Map<string, { timer: NodeJS.Timeout; last: number }>();

  private constructor(
    readonly file: string,
    readonly intervalMs: number,
    readonly stallUs: number,
    readonly onPressure: () => void,
  ) {}

  /** Starts a monitor; returns undefined where the kernel has no PSI. */
  static start(options: PressureOptions, onPressure: () => void): PressureMonitor | undefined {
    const file = options.file ?? '/proc/pressure/memory';
    const first = readMemoryStall(file);
    if (first === undefined) return undefined;
    const m = new PressureMonitor(file, options.intervalMs ?? 1000, options.stallUs ?? 50_000, onPressure);
    PressureMonitor.#monitors.add(m);
    const key = `${file}@${m.intervalMs}`;
    if (!PressureMonitor.#timers.has(key)) {
      const state = { last: first, timer: undefined as unknown as NodeJS.Timeout };
      state.timer = setInterval(() => {
        const now = readMemoryStall(file) ?? state.last;
        const delta = now - state.last;
        state.last = now;
        for (const mon of PressureMonitor.#monitors) {
          if (mon.file === file && mon.intervalMs === m.intervalMs && delta >= mon.stallUs) mon.onPressure();
        }
      }, m.intervalMs);
      state.timer.unref();
      PressureMonitor.#timers.set(key, state);
    }
    return m;
  }

  stop(): void {
    PressureMonitor.#monitors.delete(this);
    const key = `${this.file}@${this.intervalMs}`;
    if (![...PressureMonitor.#monitors].some((m) => `${m.file}@${m.intervalMs}` === key)) {
      const t = PressureMonitor.#timers.get(key);
      if (t) clearInterval(t.timer);
      PressureMonitor.#timers.delete(key);
    }
  }
}
