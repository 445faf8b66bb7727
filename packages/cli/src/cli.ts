#!/usr/bin/env node
// dmaheap: every dma-buf on this system by process (ls), why a heap cannot be used here (doctor). Arguments are
// parsed by Node's util.parseArgs. (The benchmark is the repository's `npm run bench`, not part of this package.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { diffSnapshots, type Changes } from './diff.js';
import { renderDoctor } from './doctor-render.js';
import { probeKernel } from './doctor-caveats.js';
import { resolveHeaps } from './doctor-registry.js';
import { gatherDoctor, parsePasswdFile } from './doctor.js';
import { colorWanted, makeStyle } from './format.js';
import { buildSnapshot, type Snapshot } from './model.js';
import { renderLs, renderWatch } from './render.js';
import { scanProc } from './scan.js';

/** Exit codes (README: "Exit codes"). */
export const EXIT = {
  ok: 0,
  /** Something failed unexpectedly. */
  error: 1,
  /** Bad arguments. */
  usage: 2,
  /** ls: some process could not be read (the listing is partial); doctor: a problem was found. */
  incomplete: 3,
  /** ls --pid: no such process. */
  unavailable: 4,
} as const;

const USAGE = `usage: dmaheap ls [--json] [--pid PID]... [--watch [--interval MS] [--count N]]
       dmaheap doctor [--json]
       dmaheap --help | --version

  ls        every dma-buf held by a process (from /proc/*/fdinfo and /proc/*/maps), by process, with exporter,
            name, size and inode; totals per process and per exporter (a shared buffer counted once)
  doctor    the heaps and /dev/udmabuf and whether this user can open them (and the fix), CMA, huge pages,
            kernel caveats (measured here by small probes where they can be), what openHeap('system') and
            openHeap('cma') open here

  --json           machine-readable output (--watch: one JSON object per line)
  --pid PID        only these processes (repeat, or PID,PID)
  --watch          refresh, showing what grew since the last refresh and since the start
  --interval MS    time between refreshes (default 2000)
  --count N        stop after N refreshes (default: until interrupted)

exit codes: 0 ok; 1 error; 2 bad arguments; 3 ls: some process could not be read, doctor: a problem found;
            4 ls --pid: no such process`;

const OPTIONS = {
  json: { type: 'boolean', default: false },
  pid: { type: 'string', multiple: true },
  watch: { type: 'boolean', default: false },
  interval: { type: 'string' },
  count: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', short: 'V', default: false },
} as const;

const ALLOWED: Record<string, ReadonlyArray<keyof typeof OPTIONS>> = {
  ls: ['json', 'pid', 'watch', 'interval', 'count', 'help'],
  doctor: ['json', 'help'],
};

class UsageError extends Error {}

function positiveInteger(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) throw new UsageError(`${what} must be a positive integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

const style = makeStyle(colorWanted(process.stdout, process.env));
const write = (text: string) => process.stdout.write(text);
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0); // `dmaheap ls | head`
  throw err;
});

function users(): Map<number, string> {
  try {
    return parsePasswdFile(readFileSync('/etc/passwd', 'utf8'));
  } catch {
    return new Map();
  }
}

function lsExit(s: Snapshot): number {
  if (s.missing.length) return EXIT.unavailable;
  return s.unreadable.length ? EXIT.incomplete : EXIT.ok;
}

function snapshot(pids: number[] | undefined): Snapshot {
  return buildSnapshot(scanProc(), pids ? { pids } : {});
}

async function ls(values: { json: boolean; pid?: string[]; watch: boolean; interval?: string; count?: string }): Promise<number> {
  const pids = values.pid?.flatMap((p) => p.split(',')).map((p) => positiveInteger(p.trim(), '--pid'));
  if (!values.watch && (values.interval !== undefined || values.count !== undefined)) throw new UsageError('--interval and --count go with --watch');
  if (!values.watch) {
    const s = snapshot(pids);
    write(values.json ? JSON.stringify(s, null, 2) + '\n' : renderLs(s, { style, users: users() }));
    return lsExit(s);
  }
  const intervalMs = values.interval === undefined ? 2000 : positiveInteger(values.interval, '--interval');
  const count = values.count === undefined ? 0 : positiveInteger(values.count, '--count');
  let stop = false;
  process.once('SIGINT', () => (stop = true));
  process.once('SIGTERM', () => (stop = true));
  const clear = !values.json && process.stdout.isTTY === true;
  const names = users();
  let first: Snapshot | undefined;
  let previous: Snapshot | undefined;
  let code: number = EXIT.ok;
  for (let refresh = 1; !stop && (count === 0 || refresh <= count); refresh++) {
    if (refresh > 1) await new Promise((r) => setTimeout(r, intervalMs));
    if (stop) break;
    const s = snapshot(pids);
    const changes: Changes | null = previous ? diffSnapshots(previous, s) : null;
    const sinceStart: Changes | null = first ? diffSnapshots(first, s) : null;
    const time = new Date();
    if (values.json) write(JSON.stringify({ refresh, time: time.toISOString(), ...s, changes, sinceStart }) + '\n');
    else write((clear ? '\x1b[H\x1b[2J' : refresh > 1 ? '\n' : '') + renderWatch({ refresh, count, intervalMs, time, snapshot: s, changes, sinceStart }, { style, users: names }));
    first ??= s;
    previous = s;
    code = lsExit(s);
  }
  return code;
}

async function doctor(values: { json: boolean }): Promise<number> {
  const report = gatherDoctor({ resolutions: await resolveHeaps(), probes: await probeKernel() });
  write(values.json ? JSON.stringify(report, null, 2) + '\n' : renderDoctor(report, style, process.stdout.isTTY ? process.stdout.columns : 100));
  return report.problems.length ? EXIT.incomplete : EXIT.ok;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals, tokens } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  if (values.version) {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
    write(`${pkg.version}\n`);
    return EXIT.ok;
  }
  const command = positionals[0];
  if (values.help || command === undefined || command === 'help') {
    write(USAGE + '\n');
    return command === undefined && !values.help ? EXIT.usage : EXIT.ok;
  }
  const allowed = ALLOWED[command];
  if (!allowed) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  for (const t of tokens) {
    if (t.kind === 'option' && !allowed.includes(t.name as keyof typeof OPTIONS)) throw new UsageError(`${command} takes no --${t.name}`);
  }
  const end = tokens.find((t) => t.kind === 'option-terminator')?.index ?? Infinity;
  const rest = tokens.filter((t) => t.kind === 'positional' && t.index > end);
  const extra = tokens.filter((t) => t.kind === 'positional' && t.index < end).slice(1);
  if (extra.length) throw new UsageError(`unexpected argument ${JSON.stringify((extra[0] as { value: string }).value)}`);
  if (rest.length) throw new UsageError(`${command} takes no arguments after --`);
  return command === 'ls' ? ls(values) : doctor(values);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  const usage = err instanceof UsageError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`dmaheap: ${(err as Error).message}\n${usage ? `${USAGE.split('\n\n')[0]}\n(dmaheap --help says more)\n` : (err as Error).stack + '\n'}`);
  process.exitCode = usage ? EXIT.usage : EXIT.error;
}
