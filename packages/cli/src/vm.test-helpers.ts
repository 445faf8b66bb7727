// For the VM tests: child processes holding known dma-bufs (children/holder.mjs and the C helper
// children/holder.c, built by cHelper for this machine and arm64), and the built dmaheap command run as root or as nobody.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cHelper } from '@dmaheap/vm/guest';

export const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');
export const HOLDER_MJS = join(import.meta.dirname, 'children', 'holder.mjs');
const HOLDER_C = join(import.meta.dirname, 'children', 'holder.c');
const BUILD = join(import.meta.dirname, '..', '.build');
export const NOBODY = 65534;

/** The C helper, built into packages/cli/.build (the guest's writable checkout) for this machine and arm64; its path. */
export function compileHolder(): string {
  return cHelper(HOLDER_C, BUILD);
}

export interface HeldBuffer {
  ino: number;
  size: number;
  name: string | null;
  fds: number[];
  mappings: number;
  mappedBytes: number;
}

export interface Holder {
  pid: number;
  /** The command line as /proc shows it (argv joined by spaces). */
  command: string;
  buffers: HeldBuffer[];
  child: ChildProcessWithoutNullStreams;
  /** Asks a holder.mjs for its buffers again (a leaking one). */
  report(): Promise<HeldBuffer[]>;
  stop(): Promise<void>;
}

/**
 * Starts a holder: `argv` run with `fd3` (if given) as its fd 3, as root or (uid given) through setpriv, and
 * waits for its first line.
 */
export function startHolder(argv: string[], options: { fd3?: number; uid?: number } = {}): Promise<Holder> {
  const asUser = options.uid !== undefined ? ['/usr/bin/setpriv', `--reuid=${options.uid}`, `--regid=${options.uid}`, '--clear-groups', '--'] : [];
  const [cmd, ...args] = [...asUser, ...argv];
  const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'inherit', ...(options.fd3 !== undefined ? [options.fd3] : [])] }) as ChildProcessWithoutNullStreams;
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<(line: string) => void> = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = () =>
    new Promise<string>((resolve, reject) => {
      waiting.push(resolve);
      child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited (${code}) before it answered`)));
    });
  return next().then((line) => {
    const first = JSON.parse(line) as { pid: number; buffers: HeldBuffer[] };
    return {
      pid: first.pid,
      command: argv.join(' '),
      buffers: first.buffers,
      child,
      report: async () => {
        child.stdin.write('report\n');
        return (JSON.parse(await next()) as { buffers: HeldBuffer[] }).buffers;
      },
      stop: () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.stdin.end();
          setTimeout(() => child.kill('SIGKILL'), 5000).unref();
        }),
    };
  });
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built dmaheap (as nobody with `uid`, inside a private mount namespace with debugfs when asked). */
export function dmaheap(args: string[], options: { uid?: number; debugfs?: boolean; env?: Record<string, string> } = {}): Promise<CliResult> {
  let argv = [process.execPath, CLI, ...args];
  // By path: busybox's sh (the arm64 guest's) runs its own setpriv applet, which cannot change uids, for a bare name.
  if (options.uid !== undefined) argv = ['/usr/bin/setpriv', `--reuid=${options.uid}`, `--regid=${options.uid}`, '--clear-groups', '--', ...argv];
  if (options.debugfs) argv = ['unshare', '-m', 'sh', '-c', 'mount -t debugfs debugfs /sys/kernel/debug && exec "$@"', 'sh', ...argv];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, NO_COLOR: '1', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
