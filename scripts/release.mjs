// The release: `changeset version` (versions and changelogs from the pending changesets), then each public
// package packed (its prepack builds it: TypeScript, and @dmaheap/native's prebuilds), its file list checked,
// and published with npm.
//
//   node scripts/release.mjs                      release from this checkout (needs npm credentials)
//   node scripts/release.mjs --dry-run [--out DIR] [--json FILE]
//                                                 the same in a scratch copy of the checkout, ending with
//                                                 `npm publish --dry-run`: nothing here changes, nothing is
//                                                 published; the tarballs stay in DIR (default a temp dir)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { 'dry-run': { type: 'boolean', default: false }, out: { type: 'string' }, json: { type: 'string' } },
});
const dryRun = values['dry-run'];
const checkout = join(import.meta.dirname, '..');

/** Runs a command; its output is shown only when it fails (or always, with `show`). */
function run(command, args, cwd, { show = false, env = process.env } = {}) {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (show || r.status !== 0) process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed in ${cwd} (${r.status ?? r.signal})`);
  return r.stdout;
}

/** What a published package may hold: its build, README, LICENSE; native also its prebuilds and the C sources
 * (c/) its install script compiles from when no prebuild matches. No tests, fixtures or sources of TypeScript. */
function unexpectedFiles(name, files) {
  const allowed = [/^package\.json$/, /^README\.md$/, /^LICENSE$/, /^dist\/.+\.(js|d\.ts)$/];
  if (name === '@dmaheap/native') allowed.push(/^c\/[a-z_]+\.[ch]$/, /^binding\.gyp$/, /^prebuilds\/linux-(x64|arm64)\/@dmaheap\+native\.(glibc|musl)\.node$/);
  return files.filter((f) => !allowed.some((re) => re.test(f)) || /\.test|test-helpers|fixtures/.test(f));
}

/** A scratch copy of the checkout (what git tracks or would track), with its own install. */
function scratchCopy() {
  const dir = mkdtempSync(join(tmpdir(), 'dmaheap-release-'));
  const files = run('git', ['ls-files', '-co', '--exclude-standard', '-z'], checkout).split('\0').filter(Boolean);
  for (const f of files) {
    const from = join(checkout, f);
    if (!existsSync(from)) continue; // deleted in the working tree
    mkdirSync(join(dir, f, '..'), { recursive: true });
    cpSync(from, join(dir, f));
  }
  run('pnpm', ['install', '--frozen-lockfile', '--offline', '--reporter=silent'], dir);
  // Packages type-check against each other's built declarations: build them all once, in order.
  run('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only'], dir);
  return dir;
}

const t0 = Date.now();
const root = dryRun ? scratchCopy() : checkout;
const out = values.out ?? (dryRun ? join(root, '.release') : join(checkout, '.release'));
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
try {
  const before = Object.fromEntries(workspacePackages(root).map((p) => [p.name, p.version]));
  run(join(root, 'node_modules', '.bin', 'changeset'), ['version'], root);
  const packages = workspacePackages(root).filter((p) => !p.private);
  const report = { dryRun, packages: [], seconds: 0 };
  for (const p of packages) {
    run('pnpm', ['pack', '--pack-destination', out], p.dir);
    const tarball = join(out, readdirSync(out).find((f) => f.startsWith(`${p.name.replace('@', '').replace('/', '-')}-${p.version}.tgz`)));
    const files = run('tar', ['-tzf', tarball], root)
      .split('\n')
      .filter((f) => f && !f.endsWith('/'))
      .map((f) => f.replace(/^package\//, ''));
    const bad = unexpectedFiles(p.name, files);
    if (bad.length) throw new Error(`${basename(tarball)} holds files a package must not ship: ${bad.join(', ')}`);
    const manifest = JSON.parse(run('tar', ['-xzOf', tarball, 'package/package.json'], root));
    run('npm', ['publish', tarball, '--access', 'public', ...(dryRun ? ['--dry-run'] : [])], root);
    report.packages.push({
      name: p.name,
      from: before[p.name],
      version: p.version,
      tarball,
      bytes: statSync(tarball).size,
      files,
      dependencies: manifest.dependencies ?? {},
      peerDependencies: manifest.peerDependencies ?? {},
    });
    console.error(`[release] ${p.name} ${before[p.name]} -> ${p.version}: ${basename(tarball)}, ${files.length} files, ${statSync(tarball).size} bytes${dryRun ? ' (npm publish --dry-run)' : ' published'}`);
  }
  report.seconds = (Date.now() - t0) / 1000;
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
  console.error(`[release] ${report.packages.length} packages in ${report.seconds.toFixed(0)} s; tarballs in ${relative(process.cwd(), out) || out}`);
} finally {
  if (dryRun && values.out === undefined) console.error(`[release] scratch copy left in ${root}`);
  else if (dryRun) rmSync(root, { recursive: true, force: true });
}

/** The workspace's packages (pnpm-workspace.yaml: packages/*, apps/*, tools/*), with what package.json says. */
function workspacePackages(dir) {
  return ['packages', 'apps', 'tools']
    .flatMap((group) => (existsSync(join(dir, group)) ? readdirSync(join(dir, group)).map((d) => join(dir, group, d)) : []))
    .filter((d) => existsSync(join(d, 'package.json')))
    .map((d) => ({ dir: d, ...JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) }));
}
