// Every README's `js example` block runs as written, in the VM against the real kernel, from a directory
// where all @dmaheap packages resolve (this app depends on them all).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const work = join(import.meta.dirname, '..', '.examples');

/** What each example must print: the values its comments promise. */
const EXPECT: Record<string, RegExp[]> = {
  'packages/core/README.md': [/^shared-frame 66 66$/m],
  'packages/native/README.md': [/exporter: 'system'/, /name: 'example'/, /^udmabuf$/m],
  'packages/pagepool/README.md': [/hits: 99/, /misses: 1/, /zeroed: 0/],
  'packages/system-heap/README.md': [/^memfd\+udmabuf$/m, /^udmabuf$/m, /'8': 8/],
  'README.md': [/exporter: 'udmabuf'/, /name: 'nv12-frame'/],
};

function examples(readme: string): string[] {
  return [...readFileSync(join(root, readme), 'utf8').matchAll(/```js example\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe('README examples run as written', () => {
  for (const [readme, expected] of Object.entries(EXPECT)) {
    it(readme, () => {
      const code = examples(readme);
      expect(code.length, 'the README has a `js example` block').toBeGreaterThan(0);
      const dir = join(work, readme.replace(/[/.]/g, '_'));
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'example.mjs'), code.join('\n'));
      const r = spawnSync(process.execPath, ['example.mjs'], { cwd: dir, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      for (const re of expected) expect(r.stdout).toMatch(re);
    });
  }
});
