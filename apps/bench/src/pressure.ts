// The `pressure` scenario's load: a child process. In the VM test bed it rereads a large file inside a memory
// cgroup capped a little above what it had charged when it moved in, so that every read reclaims the cgroup's page
// cache and faults it in again: real reclaim, which PSI counts as memory stall (the pools' shrinker trigger), while
// only the child's cgroup is short of memory. Elsewhere (mounting cgroups on someone's machine is not the
// benchmark's business) it writes and holds most of the free memory. Either offers itself to the OOM killer first.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { meminfoField } from '@dmaheap/core';
import { readMemoryStall } from '@dmaheap/pagepool';
import type { PoolCounters, PressureInfo } from './types.js';

/** The child (`node -e`): `hold BYTES` or `read FILE`; says `ready`, starts on the line `go`, stops when stdin ends. */
const CHILD = `
const fs = require('fs');
try { fs.writeFileSync('/proc/self/oom_score_adj', '1000'); } catch {}
const [mode, arg] = process.argv.slice(1), held = [];
for (let n = 0; mode === 'hold' && n < +arg; n += 64 << 20) held.push(Buffer.allocUnsafeSlow(Math.min(64 << 20, +arg - n)).fill(1));
let stop = false, go;
const started = new Promise((r) => (go = r));
require('readline').createInterface({ input: process.stdin }).on('line', (l) => l === 'go' && go()).on('close', () => { stop = true; go(); });
process.stdout.write('ready ' + held.reduce((n, b) => n + b.length, 0) + '\\n');
started.then(async () => {
  if (mode !== 'read') return;
  const buf = Buffer.alloc(1 << 20);
  let passes = 0;
  for (; !stop; passes++) {
    const fd = fs.openSync(arg, 'r');
    for (let off = 0, i = 1; !stop && fs.readSync(fd, buf, 0, buf.length, off) === buf.length; off += buf.length, i++) if (i % 8 === 0) await new Promise((r) => setImmediate(r));
    fs.closeSync(fd);
  }
  process.stdout.write('passes ' + passes + '\\n');
});
`;

const CGROUP_ROOT = '/sys/fs/cgroup';
/** Room the child's cgroup gets above what it had charged when it moved in (the recycle suite's figure). */
const CGROUP_LIMIT = 16 * 2 ** 20;
export interface PressureSource { stop(): Promise<PressureInfo> }

/**
 * Starts the child and waits until it is under way. `file`: it rereads the file in a memory cgroup of its own
 * (cgroup2 mounted where nothing is; the guest's clean page cache dropped first, so that its reads are charged to
 * it; moved in once Node has started). `reserveBytes`: it holds MemAvailable less that.
 */
export async function startPressure(load: { file: string } | { reserveBytes: number }): Promise<PressureSource> {
  const availableBefore = meminfoField('MemAvailable') ?? 0;
  const file = 'file' in load ? load.file : undefined;
  const dir = file ? `${CGROUP_ROOT}/dmaheap-bench-${process.pid}` : undefined;
  try {
    if (dir) writeFileSync('/proc/sys/vm/drop_caches', '1');
  } catch {
    // not root: the file's pages may be cached already, and the pressure smaller
  }
  const mounted = dir !== undefined && !existsSync(`${CGROUP_ROOT}/cgroup.controllers`);
  if (mounted) execFileSync('mount', ['-t', 'cgroup2', 'none', CGROUP_ROOT]);
  const args = 'file' in load ? ['read', load.file] : ['hold', String(Math.max(0, availableBefore - load.reserveBytes))];
  const child = spawn(process.execPath, ['-e', CHILD, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let passes: number | undefined;
  const ready = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^(ready|passes) (\d+)$/.exec(line);
      if (m?.[1] === 'ready') resolve(Number(m[2]));
      else if (m) passes = Number(m[2]);
    });
    void closed.then(() => reject(new Error(`the pressure child exited (${child.signalCode ?? child.exitCode}) before it started`)));
  });
  ready.catch(() => undefined); // awaited below, unless the cgroup's set-up throws first
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  /** Ends the child (stdin closed, killed after 15 s; at once when `kill`), then the cgroup; what the cgroup saw. */
  const end = async (kill: boolean) => {
    const lost = child.exitCode !== null || child.signalCode !== null;
    child.stdin!.end();
    const killer = setTimeout(() => child.kill('SIGKILL'), kill ? 0 : 15_000);
    await closed;
    clearTimeout(killer);
    process.off('exit', onExit);
    const seen = dir && existsSync(dir) ? { events: parseKeyedCounts(readFileSync(`${dir}/memory.events`, 'utf8')), stallUs: readMemoryStall(`${dir}/memory.pressure`) } : undefined;
    if (dir && existsSync(dir)) rmdirSync(dir);
    if (mounted) execFileSync('umount', [CGROUP_ROOT]);
    return { lost, seen };
  };
  let held: number;
  try {
    if (dir) {
      writeFileSync(`${CGROUP_ROOT}/cgroup.subtree_control`, '+memory');
      mkdirSync(dir);
    }
    held = await ready;
    if (dir) {
      // From here every page it touches is charged to the cgroup, which may hold CGROUP_LIMIT more.
      writeFileSync(`${dir}/cgroup.procs`, String(child.pid));
      writeFileSync(`${dir}/memory.max`, String(Number(readFileSync(`${dir}/memory.current`, 'utf8')) + CGROUP_LIMIT));
    }
  } catch (err) {
    await end(true);
    throw err;
  }
  const stallBefore = readMemoryStall();
  child.stdin!.write('go\n');
  const availableDuring = meminfoField('MemAvailable') ?? 0;
  return {
    async stop() {
      const stallAfter = readMemoryStall();
      const { lost, seen } = await end(false);
      const cgroup = seen && { source: 'cgroup' as const, cgroupLimitBytes: CGROUP_LIMIT, file: file!, ...(passes !== undefined ? { passes } : {}), cgroupEvents: seen.events };
      const info: PressureInfo = { ...(cgroup ?? { source: 'hog', heldBytes: held }), ...(seen?.stallUs !== undefined ? { cgroupStallUs: seen.stallUs } : {}), availableBefore, availableDuring };
      if (stallBefore !== undefined && stallAfter !== undefined) info.stallUs = stallAfter - stallBefore;
      if (lost) info.hogLost = true;
      return info;
    },
  };
}

/**
 * The pool counters in a heap's `stats()`: a bufferPool's own (with its wrapped heap's under `inner`), a
 * systemHeap's page pool (`pool`). A heap without a pool has none.
 */
export function poolCounters(stats: Record<string, unknown>, outer = true): PoolCounters[] {
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);
  const out: PoolCounters[] = [];
  if (typeof stats['pressureEvents'] === 'number' || typeof stats['trimmedBytes'] === 'number') {
    out.push({ level: 'buffer pool', pressureEvents: num(stats['pressureEvents']), trimmedBytes: num(stats['trimmedBytes']) });
  }
  const pool = stats['pool'] as Record<string, unknown> | null | undefined;
  if (pool && typeof pool === 'object') out.push({ level: outer ? 'page pool' : 'inner page pool', pressureEvents: num(pool['pressureEvents']), trimmedBytes: num(pool['trimmedBytes']) });
  const inner = stats['inner'];
  if (inner && typeof inner === 'object') out.push(...poolCounters(inner as Record<string, unknown>, false));
  return out;
}

/** `after` less `before`, level by level. */
export const countersSince = (before: readonly PoolCounters[], after: readonly PoolCounters[]): PoolCounters[] =>
  after.map((a) => {
    const b = before.find((x) => x.level === a.level);
    return { level: a.level, pressureEvents: a.pressureEvents - (b?.pressureEvents ?? 0), trimmedBytes: a.trimmedBytes - (b?.trimmedBytes ?? 0) };
  });

/** `memory.events` (`low 0\nhigh 0\nmax 12\n…`) as numbers. */
export const parseKeyedCounts = (text: string): Record<string, number> =>
  Object.fromEntries([...text.matchAll(/^\s*(\S+) (\d+)\s*$/gm)].map((m) => [m[1]!, Number(m[2])]));

/** Inside the VM test bed (tools/vm sets DMAHEAP_IN_VM=1 for every job): a guest of its own. */
export const inTestBed = (env: NodeJS.ProcessEnv = process.env): boolean => env['DMAHEAP_IN_VM'] === '1';

/**
 * The file the child rereads: large, and read by nothing else in the guest (pages cached for another cgroup would
 * cost it nothing): Chromium's binary (the report's test installs it, about 290 MB), else node's.
 */
export const thrashFile = (candidates = ['/usr/lib/chromium/chromium', process.execPath]): string => candidates.find((f) => existsSync(f)) ?? process.execPath;
