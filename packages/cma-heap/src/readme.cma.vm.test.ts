// This package's README example runs as written, in the CMA VM (the shared README test in apps/bench runs
// in the stock VM, which has no CMA heap). It runs from a directory inside this package, where
// @dmaheap/cma-heap resolves to itself and its dependencies resolve as for any user.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const pkg = join(import.meta.dirname, '..');

it('README.md: the example runs and prints what its comments say', () => {
  const code = [...readFileSync(join(pkg, 'README.md'), 'utf8').matchAll(/```js example\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(code.length).toBe(1);
  const dir = join(pkg, '.examples');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'example.mjs'), code.join('\n'));
  const r = spawnSync(process.execPath, ['example.mjs'], { cwd: dir, encoding: 'utf8' });
  rmSync(dir, { recursive: true, force: true });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout.split('\n')).toEqual([
    "true [ 'reserved' ]",
    'reserved 8192 reserved',
    "ERR_DMAHEAP_OUT_OF_MEMORY [ 'reserved' ]",
    'cma(reserved)',
    '',
  ]);
});
