// The built command line on this machine: argument errors, the list of heaps, and the HTML of an earlier run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');
const fixture = join(import.meta.dirname, 'fixtures', 'vm-quick.json');
const work = mkdtempSync(join(tmpdir(), 'dmaheap-bench-cli-'));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, CI: '1' } });

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('dmaheap-bench', { timeout: 30_000 }, () => {
  it('is built', () => expect(existsSync(cli)).toBe(true));

  it('refuses unknown heaps, scenarios and sizes, with the usage', () => {
    for (const args of [['--heaps', 'nope'], ['--scenarios', 'seed,nope'], ['--sizes', 'lots'], ['--iterations', '-3']]) {
      const r = run(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/usage: dmaheap-bench/);
    }
  });

  it('lists every heap with why it is skipped here', () => {
    const r = run('--list');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^cma-heap +cmaHeap\(\) +\(skipped here: needs the CMA test kernel\)$/m);
    expect(r.stdout.trim().split('\n')).toHaveLength(13);
  });

  it('writes the HTML report of an earlier run (--render), beside its JSON by default', () => {
    const out = join(work, 'out', 'report.html');
    const r = run('--render', fixture, '--html', out);
    expect(r.status).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('ratios, not absolute speeds');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/); // nothing to fetch: it opens offline
  });
});
