// The N-API prebuilds that ship in @dmaheap/native, built on this machine with prebuildify (run by `build` and
// `prepack`; the workspace's own build/Release comes last, from node-gyp, for this machine):
//   prebuilds/linux-x64/@dmaheap+native.glibc.node     gcc
//   prebuilds/linux-x64/@dmaheap+native.musl.node      musl-gcc (Debian's musl-tools)
//   prebuilds/linux-arm64/@dmaheap+native.glibc.node   aarch64-linux-gnu-gcc (Debian's gcc-aarch64-linux-gnu)
//   prebuilds/linux-arm64/@dmaheap+native.musl.node    the same cross gcc against Debian's arm64 musl (musl-dev:arm64)
// node-gyp-build loads the one matching the running Node (libc: glibc, or musl on Alpine or with LIBC=musl) and
// the install script compiles only when none matches. N-API builds carry no Node version: one per target serves
// every Node from 20 on. The toolchains are installed by scripts/bootstrap.sh (the arm64 musl files go to
// ~/.cache/dmaheap/toolchains/musl-arm64, or $DMAHEAP_MUSL_ARM64). A missing toolchain is an error: a package
// must never ship without one of its prebuilds.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

const pkg = join(import.meta.dirname, '..');
const work = join(pkg, 'build-prebuild');
const musl = process.env.DMAHEAP_MUSL_ARM64 ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'dmaheap', 'toolchains', 'musl-arm64');
const nodedir = process.env.npm_config_nodedir ?? dirname(dirname(process.execPath));
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) throw new Error(`no Node headers under ${nodedir}/include/node (set npm_config_nodedir)`);

/** A directory holding only the kernel's UAPI headers: musl's -nostdinc would otherwise hide <linux/dma-buf.h>. */
function uapiHeaders(name, includeDir, asmDir) {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [link, target] of [['linux', join(includeDir, 'linux')], ['asm-generic', join(includeDir, 'asm-generic')], ['asm', asmDir]]) {
    if (!existsSync(target)) throw new Error(`missing ${target} (the kernel headers: linux-libc-dev, linux-libc-dev-arm64-cross)`);
    symlinkSync(target, join(dir, link));
  }
  return dir;
}

/** musl-gcc's specs file for the arm64 musl files, so the cross gcc compiles and links against them. */
function arm64MuslSpecs() {
  const specs = join(musl, 'usr/lib/aarch64-linux-musl/musl-gcc.specs');
  if (!existsSync(specs)) throw new Error(`no arm64 musl at ${musl} (scripts/bootstrap.sh fetches Debian's musl:arm64 and musl-dev:arm64)`);
  const text = readFileSync(specs, 'utf8')
    .replaceAll('/usr/include/aarch64-linux-musl', `${musl}/usr/include/aarch64-linux-musl`)
    // lib/ before usr/lib/: usr/lib has libc.a, which would link musl statically.
    .replaceAll('-L/usr/lib/aarch64-linux-musl', `-L${musl}/lib/aarch64-linux-musl -L${musl}/usr/lib/aarch64-linux-musl`)
    .replace(/\/usr\/lib\/aarch64-linux-musl\/(S?crt[1in]?\.o)/g, `${musl}/usr/lib/aarch64-linux-musl/$1`);
  const out = join(work, 'musl-arm64.specs');
  writeFileSync(out, text);
  return out;
}

/** Runs a build step quietly; its output is shown only when it fails. */
function run(command, args, options) {
  const r = spawnSync(command, args, { ...options, encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
    throw new Error(`${command} ${args.join(' ')} failed (${r.status ?? r.signal})`);
  }
}

function need(command) {
  if (spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0) throw new Error(`${command} is missing (scripts/bootstrap.sh installs the cross-compilers)`);
}

mkdirSync(work, { recursive: true });
rmSync(join(pkg, 'prebuilds'), { recursive: true, force: true });
const arm64Gcc = 'aarch64-linux-gnu-gcc';
for (const c of ['gcc', 'musl-gcc', arm64Gcc]) need(c);
const targets = [
  { arch: 'x64', libc: 'glibc', cc: 'gcc' },
  { arch: 'x64', libc: 'musl', cc: 'musl-gcc', cflags: `-isystem ${uapiHeaders('uapi-x64', '/usr/include', '/usr/include/x86_64-linux-gnu/asm')}` },
  { arch: 'arm64', libc: 'glibc', cc: arm64Gcc, strip: 'aarch64-linux-gnu-strip' },
  {
    arch: 'arm64',
    libc: 'musl',
    cc: `${arm64Gcc} -specs ${arm64MuslSpecs()}`,
    cflags: `-isystem ${uapiHeaders('uapi-arm64', '/usr/aarch64-linux-gnu/include', '/usr/aarch64-linux-gnu/include/asm')}`,
    strip: 'aarch64-linux-gnu-strip',
  },
];
const prebuildify = join(pkg, 'node_modules', '.bin', 'prebuildify');
for (const t of targets) {
  const t0 = Date.now();
  const args = ['--napi', '--strip', '--tag-libc', '--libc', t.libc, '--arch', t.arch];
  if (t.strip) args.push('--strip-bin', t.strip);
  // gyp links with CXX: a C compiler does for a C addon.
  const env = { ...process.env, CC: t.cc, CXX: t.cc, CFLAGS: t.cflags ?? '', npm_config_nodedir: nodedir };
  run(prebuildify, args, { cwd: pkg, env });
  console.error(`[prebuild] linux-${t.arch} ${t.libc}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
// The workspace's own build (node-gyp rebuild) goes on using build/Release; prebuildify replaced it.
rmSync(join(pkg, 'build'), { recursive: true, force: true });
run(join(pkg, 'node_modules', '.bin', 'node-gyp'), ['rebuild'], { cwd: pkg, env: { ...process.env, npm_config_nodedir: nodedir } });
