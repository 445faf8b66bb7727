// The `pressure` scenario's load. In the VM test bed: a child process that reads a large file over and over
// inside a memory cgroup capped a little above what it had charged when it moved in, so that every read
// reclaims the cgroup's page cache and faults it in again: real reclaim, which PSI counts as memory stall (the
// pools' shrinker trigger), while only the child's cgroup is short of memory. Elsewhere (mounting cgroups on
// someone's machine is not the benchmark's business): a child that takes most of the free memory (anonymous
// pages, every one written) and holds it; it offers itself to the OOM killer first (oom_score_adj 1000).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { meminfoField } from '@dmaheap/core';
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

/** A field of /proc/meminfo in bytes, or undefined (read now, or from `text`). */
export const meminfo = (field: string, text?: string): number | undefined => meminfoField(field, text);

/** What a pool gave back during the scenario: one level (a bufferPool, or the page pool of a systemHeap it wraps). */
export interface PoolCounters {
  /** `buffer pool` or `page pool` (of a systemHeap, or of the systemHeap a bufferPool wraps). */
  level: string;
  pressureEvents: number;
  trimmedBytes: number;
}

export interface PoolRelief {
  variant: string;
  label: string;
  levels: PoolCounters[];
}

export interface PressureInfo {
  /**
   * `cgroup`: a child reads a file over and over inside a small memory cgroup, so that every read reclaims
   * and refaults its page cache (the VM test bed); `hog`: a child holds most of MemAvailable (elsewhere).
   * Absent in reports before format 3, which were all `hog`.
   */
  source?: 'cgroup' | 'hog';
  /** `cgroup`: the cgroup's limit above what the child had charged when it moved in, the file it reads. */
  cgroupLimitBytes?: number;
  file?: string;
  /** `cgroup`: passes the child made over the file, the cgroup's memory.events and its own `some` stall (µs). */
  passes?: number;
  cgroupEvents?: Record<string, number>;
  cgroupStallUs?: number;
  /** `hog`: bytes the child wrote and holds. */
  heldBytes?: number;
  /** MemAvailable before the child started, and once it was under way. */
  availableBefore: number;
  availableDuring: number;
  /** Growth of the `some` memory stall in /proc/pressure/memory over the scenario, µs (absent without PSI). */
  stallUs?: number;
  /** Set when the child was gone before the end (the OOM killer took it). */
  hogLost?: boolean;
  /** What each pool gave back while the scenario ran (its shrinker's events and the bytes trimmed). */
  pools?: PoolRelief[];
}

/** A pressure source: started before the scenario's first run, stopped after its last. */
export interface PressureSource {
  stop(): Promise<PressureInfo>;
}

/**
 * The pool counters in a heap's `stats()`: a bufferPool's own (`pressureEvents`, `trimmedBytes`, with its wrapped
 * heap's under `inner`), a systemHeap's page pool (`pool`). A heap without a pool has none.
 */
export function poolCounters(stats: Record<string, unknown>, outer = true): PoolCounters[] {
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);
  const out: PoolCounters[] = [];
  if (typeof stats['pressureEvents'] === 'number' || typeof stats['trimmedBytes'] === 'number') {
    out.push({ level: 'buffer pool', pressureEvents: num(stats['pressureEvents']), trimmedBytes: num(stats['trimmedBytes']) });
  }
  const pool = stats['pool'];
  if (pool && typeof pool === 'object') {
    const p = pool as Record<string, unknown>;
    out.push({ level: outer ? 'page pool' : 'inner page pool', pressureEvents: num(p['pressureEvents']), trimmedBytes: num(p['trimmedBytes']) });
  }
  const inner = stats['inner'];
  if (inner && typeof inner === 'object') out.push(...poolCounters(inner as Record<string, unknown>, false));
  return out;
}

/** `after` less `before`, level by level. */
export function countersSince(before: readonly PoolCounters[], after: readonly PoolCounters[]): PoolCounters[] {
  return after.map((a) => {
    const b = before.find((x) => x.level === a.level);
    return { level: a.level, pressureEvents: a.pressureEvents - (b?.pressureEvents ?? 0), trimmedBytes: a.trimmedBytes - (b?.trimmedBytes ?? 0) };
  });
}

/** `memory.events` (`low 0\nhigh 0\nmax 12\noom 0 …`) as numbers. */
export function parseKeyedCounts(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\S+) (\d+)$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Cumulative `some` stall, µs, of a PSI file's text. */
export function someStallUs(text: string): number | undefined {
  const m = /^some .*total=(\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

export class MemoryHog implements PressureSource {
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
      source: 'hog',
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

/** Runs in the cgroup's child (`node -e`): argv[1] is the file to read over and over, from the line `go` until stdin ends. */
const THRASH = `
const { openSync, readSync, closeSync } = require('fs');
try { require('fs').writeFileSync('/proc/self/oom_score_adj', '1000'); } catch {}
let stop = false, go;
const started = new Promise((r) => (go = r));
require('readline').createInterface({ input: process.stdin })
  .on('line', (l) => l === 'go' && go())
  .on('close', () => { stop = true; go(); });
process.stdout.write('ready\\n');
(async () => {
  await started;
  const buf = Buffer.alloc(1 << 20);
  let passes = 0;
  while (!stop) {
    const fd = openSync(process.argv[1], 'r');
    for (let off = 0, i = 0; !stop; off += buf.length, i++) {
      const n = readSync(fd, buf, 0, buf.length, off);
      if (n < buf.length) break;
      if (i % 8 === 7) await new Promise((r) => setImmediate(r));
    }
    closeSync(fd);
    passes++;
  }
  process.stdout.write('passes ' + passes + '\\n');
})();
`;

const CGROUP_ROOT = '/sys/fs/cgroup';
/** Room the child's cgroup gets above what it had charged when it moved in (the recycle suite's figure). */
export const CGROUP_LIMIT = 16 * 2 ** 20;

/** Inside the VM test bed (tools/vm puts `dmaheap.job=` on the guest's command line): a guest of its own. */
export function inTestBed(cmdline = readText('/proc/cmdline')): boolean {
  return /\bdmaheap\.job=/.test(cmdline);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The file the child reads: large, and read by nothing else in the guest, so that its pages are not in the page
 * cache already (charged to another cgroup, they would cost the child nothing): Chromium's binary (the report's
 * test installs it, about 290 MB), else the node binary.
 */
export function thrashFile(candidates = ['/usr/lib/chromium/chromium', process.execPath]): string {
  return candidates.find((f) => existsSync(f)) ?? process.execPath;
}

/**
 * Starts the child in a memory cgroup of its own (mounting cgroup2 first when nothing is mounted) and waits
 * until it reads under the limit. `file` should be much larger than the limit. Only inside the test bed: it
 * also drops the guest's clean page cache first, so that the child's reads are charged to its own cgroup.
 */
export async function startCgroupThrash(file = thrashFile()): Promise<PressureSource> {
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '1');
  } catch {
    // not root: the file's pages may be cached already, and the pressure smaller
  }
  let mounted = false;
  if (!existsSync(`${CGROUP_ROOT}/cgroup.controllers`)) {
    execFileSync('mount', ['-t', 'cgroup2', 'none', CGROUP_ROOT]);
    mounted = true;
  }
  const dir = `${CGROUP_ROOT}/dmaheap-bench-${process.pid}`;
  const availableBefore = meminfo('MemAvailable') ?? 0;
  const stallBefore = readMemoryStall();
  const child = spawn(process.execPath, ['-e', THRASH, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let passes: number | undefined;
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'ready') ready();
    const m = /^passes (\d+)$/.exec(line);
    if (m) passes = Number(m[1]);
  });
  const cleanUp = () => {
    if (existsSync(dir)) rmdirSync(dir);
    if (mounted) execFileSync('umount', [CGROUP_ROOT]);
  };
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  try {
    writeFileSync(`${CGROUP_ROOT}/cgroup.subtree_control`, '+memory');
    mkdirSync(dir);
    await Promise.race([isReady, closed.then(() => Promise.reject(new Error('the memory cgroup child exited before it started')))]);
    // Moved once started (Node's start-up stays charged to the parent): from here every page it touches is
    // charged to the cgroup, which may hold CGROUP_LIMIT more.
    writeFileSync(`${dir}/cgroup.procs`, String(child.pid));
    writeFileSync(`${dir}/memory.max`, String(Number(readFileSync(`${dir}/memory.current`, 'utf8')) + CGROUP_LIMIT));
    child.stdin!.write('go\n');
  } catch (err) {
    child.kill('SIGKILL');
    await closed;
    process.off('exit', onExit);
    cleanUp();
    throw err;
  }
  const availableDuring = meminfo('MemAvailable') ?? 0;
  return {
    async stop() {
      const stallAfter = readMemoryStall();
      const lost = child.exitCode !== null || child.signalCode !== null;
      child.stdin!.end();
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await closed;
      clearTimeout(killer);
      process.off('exit', onExit);
      const cgroupEvents = parseKeyedCounts(readText(`${dir}/memory.events`));
      const cgroupStallUs = someStallUs(readText(`${dir}/memory.pressure`));
      cleanUp();
      return {
        source: 'cgroup',
        cgroupLimitBytes: CGROUP_LIMIT,
        file,
        ...(passes !== undefined ? { passes } : {}),
        cgroupEvents,
        ...(cgroupStallUs !== undefined ? { cgroupStallUs } : {}),
        availableBefore,
        availableDuring,
        ...(stallBefore !== undefined && stallAfter !== undefined ? { stallUs: stallAfter - stallBefore } : {}),
        ...(lost ? { hogLost: true } : {}),
      };
    },
  };
}
