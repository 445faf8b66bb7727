// Runs one README example as a test: written to example.mjs in a directory, run with plain Node, its output
// checked. `workspace` runs it from a directory inside this package (every @dmaheap package resolves);
// an installer runs it from the scratch project of its subset, with nothing but what that install put there.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { exampleCode, projectDir, type Example, type Installer } from './examples.js';

export function runExample(e: Example, where: Installer | 'workspace'): void {
  it(`${e.readme} (${where === 'workspace' ? 'workspace' : `${e.subset} installed with ${where}`})`, () => {
    let dir: string;
    if (where === 'workspace') {
      dir = join(import.meta.dirname, '..', '.examples', e.readme.replace(/[/.]/g, '_'));
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
    } else {
      const project = projectDir(e.subset, where);
      expect(existsSync(join(project, 'node_modules')), `${project} is installed by pack.test.ts on the host (npm test runs it first)`).toBe(true);
      dir = join(project, 'example', e.readme.replace(/[/.]/g, '_'));
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
    }
    writeFileSync(join(dir, 'example.mjs'), exampleCode(e.readme));
    const r = spawnSync(process.execPath, ['example.mjs'], { cwd: dir, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const re of e.expect) expect(r.stdout).toMatch(re);
  });
}
