// The `pressure` scenario's load: a child process that takes most of the free memory (anonymous pages, every
// one written) and holds it while the seed loop runs. The child offers itself to the OOM killer first
// (oom_score_adj 1000), so if the kernel runs out it is the one that goes and the run, and the guest, go on.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { readMemoryStall } from '@dmaheap/pagepool';

/** Runs in the child (`node -e`): argv[1] is how many bytes to hold. */
const HOG = `
try { require('fs').writeFileSync('/proc/self/oom_score_adj', '1000'); } catch {}
const target = Number(process.argv[1]);
const chunks = [];
let held = 0;
while (held < target) {
  const n = Math.min(64 << 20, target - held);
  chunks.push(Buffer.allocUnsafeSlow(n).fill(1));
  held += n;
}
process.stdout.write('holding ' + held + '\\n');
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

/** A field of /proc/meminfo in bytes, or undefined. */
export function meminfo(field: string, text = readMeminfo()): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

function readMeminfo(): string {
  try {
    return readFileSync('/proc/meminfo', 'utf8');
  } catch {
    return '';
  }
}

export interface PressureInfo {
  /** Bytes the child process wrote and holds. */
  heldBytes: number;
  /** MemAvailable before the child started, and once it held its memory. */
  availableBefore: number;
  availableDuring: number;
  /** Growth of the `some` memory stall in /proc/pressure/memory over the scenario, µs (absent without PSI). */
  stallUs?: number;
  /** Set when the child was gone before the end (the OOM killer took it). */
  hogLost?: boolean;
}

export class MemoryHog {
  #child: ChildProcess;
  #exited = false;
  readonly #stallBefore: number | undefined;
  readonly #onExit = () => this.#child.kill('SIGKILL');

  private constructor(
    child: ChildProcess,
    readonly heldBytes: number,
    readonly availableBefore: number,
    readonly availableDuring: number,
  ) {
    this.#child = child;
    child.once('exit', () => (this.#exited = true));
    this.#stallBefore = readMemoryStall();
    process.once('exit', this.#onExit);
  }

  /** Starts the child and waits until it holds MemAvailable less `reserveBytes`. */
  static async start(reserveBytes: number): Promise<MemoryHog> {
    const availableBefore = meminfo('MemAvailable') ?? 0;
    const target = Math.max(0, availableBefore - reserveBytes);
    const child = spawn(process.execPath, ['-e', HOG, String(target)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const held = await new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.once('line', (line) => {
        const m = /^holding (\d+)$/.exec(line);
        if (m) resolve(Number(m[1]));
        else reject(new Error(`memory hog: unexpected output ${JSON.stringify(line)}`));
      });
      child.once('exit', (code, signal) => reject(new Error(`memory hog exited (${signal ?? code}) before it held its memory`)));
    });
    return new MemoryHog(child, held, availableBefore, meminfo('MemAvailable') ?? 0);
  }

  /** Lets go of the memory; returns what was seen. */
  async stop(): Promise<PressureInfo> {
    const stallAfter = readMemoryStall();
    const info: PressureInfo = {
      heldBytes: this.heldBytes,
      availableBefore: this.availableBefore,
      availableDuring: this.availableDuring,
      ...(this.#stallBefore !== undefined && stallAfter !== undefined ? { stallUs: stallAfter - this.#stallBefore } : {}),
      ...(this.#exited ? { hogLost: true } : {}),
    };
    process.off('exit', this.#onExit);
    if (!this.#exited) {
      const gone = new Promise((resolve) => this.#child.once('exit', resolve));
      this.#child.stdin!.end();
      await gone;
    }
    return info;
  }
}
