// After the build, every package is importable from plain Node 20 through its `exports`, from a workspace
// package that depends on it: exports resolve to built JavaScript with types beside it.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const app = join(import.meta.dirname, '..');
// (`@dmaheap/core/testing` is left out: it imports vitest, which loads only inside its own runner.)
const PACKAGES = ['@dmaheap/core', '@dmaheap/native', '@dmaheap/pagepool', '@dmaheap/system-heap', '@dmaheap/cma-heap'];

describe('published packages', () => {
  for (const name of PACKAGES) {
    it(`${name} imports from plain Node`, () => {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import('${name}'); console.log(Object.keys(m).length);`], {
        cwd: app,
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toMatch(/^\d+$/);
    });
  }

  it('every published package.json has exports with types, files, engines and os', () => {
    const root = join(app, '..', '..');
    for (const dir of ['core', 'native', 'system-heap', 'cma-heap', 'pagepool']) {
      const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
      expect(pkg.name).toBe(`@dmaheap/${dir}`);
      expect(pkg.private).toBeUndefined();
      expect(pkg.exports['.'].types).toMatch(/^\.\/dist\/.*\.d\.ts$/);
      expect(existsSync(join(root, 'packages', dir, pkg.exports['.'].types))).toBe(true);
      expect(existsSync(join(root, 'packages', dir, pkg.exports['.'].default))).toBe(true);
      expect(pkg.files).toContain('dist');
      expect(pkg.engines.node).toBeTruthy();
      expect(pkg.os).toEqual(['linux']);
      expect(existsSync(join(root, 'packages', dir, 'README.md'))).toBe(true);
    }
  });

  it('resolves workspace packages to their built dist, not to sources', () => {
    const require = createRequire(join(app, 'package.json'));
    expect(dirname(require.resolve('@dmaheap/core'))).toMatch(/packages\/core\/dist$/);
  });
});
