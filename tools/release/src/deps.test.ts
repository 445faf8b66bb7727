// Every package's built code imports only what its package.json names (host): a dependency, a peer (optional
// peers included) or Node's own modules. A package that imported another only listed as a devDependency would
// work in the workspace and fail with ERR_MODULE_NOT_FOUND for a user (as system-heap once did).
import { builtinModules } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './examples.js';

const BUILTINS = new Set(builtinModules);

/** Bare specifiers of a module's imports: static import/export ... from, import(), require(). */
export function importsOf(code: string): string[] {
  const found = new Set<string>();
  for (const re of [/\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\bimport\s+['"]([^'"]+)['"]/g, /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g]) {
    for (const m of code.matchAll(re)) found.add(m[1]!);
  }
  return [...found].filter((s) => !s.startsWith('.') && !s.startsWith('/'));
}

/** The package a specifier names: `@scope/name` or `name` (subpaths dropped). */
export function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
}

const packages = ['packages', 'apps', 'tools']
  .flatMap((g) => readdirSync(join(ROOT, g)).map((d) => join(ROOT, g, d)))
  .filter((d) => existsSync(join(d, 'package.json')) && existsSync(join(d, 'dist')));

describe('imports match declared dependencies', () => {
  it('finds the imports of a module', () => {
    expect(importsOf(`import a from 'x'; export { b } from "@s/y/sub"; const c = await import('z'); require('w'); import './local.js'; import 'side';`).sort()).toEqual(
      ['@s/y/sub', 'side', 'w', 'x', 'z'],
    );
    expect(packageOf('@s/y/sub')).toBe('@s/y');
    expect(packageOf('x/deep/file.js')).toBe('x');
  });

  for (const dir of packages) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | string>;
    it(`${pkg['name']}: every import of dist/ is a dependency or a peer`, () => {
      const declared = new Set([
        pkg['name'] as string,
        ...Object.keys((pkg['dependencies'] as Record<string, string>) ?? {}),
        ...Object.keys((pkg['peerDependencies'] as Record<string, string>) ?? {}),
      ]);
      const undeclared: string[] = [];
      for (const file of files(join(dir, 'dist'))) {
        for (const spec of importsOf(readFileSync(file, 'utf8'))) {
          const name = packageOf(spec);
          if (spec.startsWith('node:') || BUILTINS.has(name) || declared.has(name)) continue;
          undeclared.push(`${relative(dir, file)} imports ${spec}`);
        }
      }
      expect(undeclared).toEqual([]);
    });
  }
});
