// The built command line on this machine: argument errors, the list of heaps, and the HTML of an earlier run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');
const fixture = join(import.meta.dirname, 'fixtures', 'vm-merged.json');
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
    expect(r.stdout).toMatch(/^cma-heap +cmaHeap\(\) +\(skipped here: needs a CMA heap: .*CMA test kernel\)$/m);
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

  it('refuses a report of another format', () => {
    const old = join(work, 'old.json');
    writeFileSync(old, JSON.stringify({ ...JSON.parse(readFileSync(fixture, 'utf8')), format: 'dmaheap-bench/2' }));
    const r = run('--render', old);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/format "dmaheap-bench\/2" is not the one this version reads \(dmaheap-bench\/3\)/);
  });

  it('merges the CMA boot into a run (--merge), and refuses --merge alone', () => {
    expect(run('--merge', fixture).status).toBe(2);
    // The fixture's first boot alone, and a CMA boot made of its kernel heap's row and one of a pool.
    const { mergedRuns: _, ...both } = JSON.parse(readFileSync(fixture, 'utf8'));
    const main = { ...both, results: both.results.filter((r: { kernel?: string }) => r.kernel === undefined) };
    const mainFile = join(work, 'main.json');
    writeFileSync(mainFile, JSON.stringify(main));
    const seed = main.results.find((r: { variant: string }) => r.variant === 'kernel');
    const cma = {
      ...main,
      machine: { ...main.machine, kernel: '6.12.57-cma' },
      results: [seed, { ...seed, variant: 'pool-cma', label: 'bufferPool(cmaHeap())', group: 'cma', nsPerCall: seed.nsPerCall / 4, ratioToKernel: 4 }],
    };
    const cmaFile = join(work, 'cma.json');
    writeFileSync(cmaFile, JSON.stringify(cma));
    const out = join(work, 'merged', 'bench.json');
    const r = run('--render', mainFile, '--merge', cmaFile, '--json', out);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Added pool-cma from the run on Linux 6\.12\.57-cma/m);
    expect(r.stdout).toMatch(/^bufferPool\(cmaHeap\(\)\) \[6\.12\.57-cma\] .*×4\.00/m);
    const merged = JSON.parse(readFileSync(out, 'utf8'));
    expect(merged.results).toHaveLength(main.results.length + 1);
    expect(readFileSync(join(work, 'merged', 'bench.html'), 'utf8')).toContain('second boot');
  });
});
