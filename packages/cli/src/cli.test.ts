// The built command on this machine (the host: no dma-buf heaps): usage, argument errors and exit codes,
// output that parses, and no colour when not on a terminal.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...env } });

describe('dmaheap (built)', { timeout: 60_000 }, () => {
  it('is built, with a shebang', () => {
    expect(existsSync(cli)).toBe(true);
    expect(spawnSync('head', ['-1', cli], { encoding: 'utf8' }).stdout).toBe('#!/usr/bin/env node\n');
  });

  it('--help prints the usage with the exit codes; no command is a usage error', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: dmaheap ls/);
    expect(r.stdout).toContain('exit codes: 0 ok; 1 error; 2 bad arguments; 3');
    expect(run([]).status).toBe(2);
    expect(run(['ls', '--help']).status).toBe(0);
  });

  it('refuses bad arguments with exit code 2 and the usage', () => {
    for (const args of [['frobnicate'], ['ls', '--bogus'], ['ls', '--pid', 'x'], ['ls', '--pid', '0'], ['ls', '--count', '2'], ['ls', '--watch', '--interval', '-5'], ['doctor', '--pid', '1'], ['ls', 'extra'], ['doctor', '--', 'x']]) {
      const r = run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^dmaheap: [^]*\nusage: dmaheap ls/);
    }
  });

  it('ls --json parses, and --pid of no process exits 4', () => {
    const r = run(['ls', '--json']);
    expect([0, 3]).toContain(r.status); // 3 where some process is not readable (a sandbox's init, say)
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ missing: [], totals: { buffers: expect.any(Number), bytes: expect.any(Number) } });
    const missing = run(['ls', '--json', '--pid', '2147483646']);
    expect(missing.status).toBe(4);
    expect(JSON.parse(missing.stdout).missing).toEqual([2147483646]);
  });

  it('ls --watch stops after --count refreshes, one JSON object per line', () => {
    const r = run(['ls', '--watch', '--interval', '50', '--count', '3', '--json', '--pid', String(process.pid)]);
    const frames = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(frames.map((f) => f.refresh)).toEqual([1, 2, 3]);
    expect(frames[0].changes).toBeNull();
    expect(frames[2].changes).toMatchObject({ added: [], removed: [] });
  });

  it('writes no colour codes to a pipe, and does with FORCE_COLOR', () => {
    expect(run(['doctor']).stdout).not.toContain('\x1b[');
    expect(run(['doctor'], { FORCE_COLOR: '1' }).stdout).toContain('\x1b[1m');
    expect(run(['doctor'], { FORCE_COLOR: '1', NO_COLOR: '1' }).stdout).not.toContain('\x1b[');
  });

  it('doctor --json: on this kernel without heaps, a problem (exit 3)', () => {
    const r = run(['doctor', '--json']);
    const report = JSON.parse(r.stdout);
    if (!existsSync('/dev/dma_heap') && !existsSync('/dev/udmabuf')) {
      expect(r.status).toBe(3);
      expect(report.problems[0]).toMatch(/neither \/dev\/dma_heap/);
    }
    expect(report.openHeap.system).toHaveProperty('why');
  });

  it('bench is no command of this package (the benchmark is the repository\'s npm run bench): a usage error, exit 2', () => {
    const r = run(['bench']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command "bench"/);
  });
});
