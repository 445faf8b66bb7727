// Fetches Debian's 6.12 kernel package into a cache (without installing it on the host), or builds a small
// all-built-in kernel with CMA from Debian's linux-source-6.12 (./cma-kernel.ts), and builds the initramfs that
// mounts this machine's filesystem over 9p and runs a job inside.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
  /** Path of the bzImage. */
  image: string;
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
function resolveKernelPackage(): string {
  const find = (): string | undefined => {
    try {
      return /Depends:\s*(linux-image-\S+)/.exec(run('apt-cache', ['depends', KERNEL_META_PACKAGE]))?.[1];
    } catch {
      return undefined;
    }
  };
  let pkg = find();
  if (!pkg) {
    log('apt-get update (package lists are missing)');
    run('apt-get', ['update', '-qq']);
    pkg = find();
  }
  if (!pkg) throw new Error(`cannot resolve ${KERNEL_META_PACKAGE} with apt-cache`);
  return pkg;
}

/** Ensures the stock Debian kernel is extracted in the cache, with modules.dep; returns its paths. */
export function ensureStockKernel(): Kernel {
  const base = join(cacheDir(), 'stock');
  const marker = join(base, 'ready');
  if (!existsSync(marker)) {
    const pkg = resolveKernelPackage();
    log(`fetching ${pkg} (apt-get download; the host's /boot is not touched)`);
    rmSync(base, { recursive: true, force: true });
    const dl = join(base, 'download');
    mkdirSync(dl, { recursive: true });
    run('apt-get', ['download', '-q', pkg], dl);
    const deb = readdirSync(dl).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb`);
    const root = join(base, 'root');
    run('dpkg-deb', ['-x', join(dl, deb), root]);
    rmSync(dl, { recursive: true, force: true });
    const release = readdirSync(join(root, 'lib', 'modules'))[0];
    if (!release) throw new Error('kernel package has no lib/modules');
    run('depmod', ['-b', root, release]);
    writeFileSync(marker, `${pkg}\n`);
  }
  const root = join(base, 'root');
  const release = readdirSync(join(root, 'lib', 'modules'))[0]!;
  return withInitramfs(base, { release, image: join(root, 'boot', `vmlinuz-${release}`), modulesRoot: root });
}

/**
 * Completes a kernel with its initramfs, built once into `dir` and named by what goes into it (the /init
 * script, and the 9p modules when the kernel has modules), so a changed /init never meets an old cached image.
 */
export function withInitramfs(dir: string, kernel: Omit<Kernel, 'initramfs'>): Kernel {
  const modules = kernel.modulesRoot ? NINEP_MODULES : [];
  const hash = createHash('sha256').update(INIT).update(modules.join()).digest('hex').slice(0, 12);
  const full: Kernel = { ...kernel, initramfs: join(dir, `initramfs-${hash}.cpio.gz`) };
  if (!existsSync(full.initramfs)) buildInitramfs(full);
  return full;
}

function findModule(modulesRoot: string, release: string, name: string): string {
  const dep = execFileSync('grep', ['-E', `(^|/)${name.replace(/[-_]/g, '[-_]')}\\.ko(\\.xz)?:`, join(modulesRoot, 'lib', 'modules', release, 'modules.dep')], {
    encoding: 'utf8',
  });
  const rel = dep.split(':')[0]!;
  return join(modulesRoot, 'lib', 'modules', release, rel);
}

/** The guest's /init: mount the host read-only over 9p, mount the job's writable shares, chroot, run, power off. */
const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in ${NINEP_MODULES.join(' ')}; do
  # A kernel with 9p built in (the CMA kernel) has an initramfs without module files: nothing to load.
  if [ -e /lib/mod/$m.ko ]; then insmod /lib/mod/$m.ko || echo "dmaheap-vm: insmod $m failed"; fi
done
job=$(sed -n 's/.*dmaheap\\.job=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose host /mnt || { echo "dmaheap-vm: cannot mount host"; poweroff -f; }
cp "/mnt$job/shares" /shares
mount -t proc proc /mnt/proc
mount -t sysfs sysfs /mnt/sys
mount -t devtmpfs devtmpfs /mnt/dev
mkdir -p /mnt/dev/pts /mnt/dev/shm; mount -t devpts devpts /mnt/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /mnt/tmp
mount -t tmpfs -o mode=755 tmpfs /mnt/run
mount -t tmpfs -o mode=1777 tmpfs /mnt/dev/shm 2>/dev/null
while read tag mode path; do
  mkdir -p "/mnt$path" 2>/dev/null
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,$mode "$tag" "/mnt$path" || echo "dmaheap-vm: cannot mount $path"
done < /shares
chroot /mnt /bin/sh "$job/job.sh"
echo $? > "/mnt$job/exit"
sync
poweroff -f
`;

function buildInitramfs(kernel: Kernel): void {
  log('building initramfs');
  // Built aside and renamed into place: several runs may start at once.
  const dir = join(cacheDir(), `initramfs.tmp.${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  for (const d of ['bin', 'proc', 'sys', 'dev', 'mnt', 'lib/mod']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin', 'busybox'));
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
  writeFileSync(join(dir, 'init'), INIT, { mode: 0o755 });
  const files = execFileSync('find', ['.', '-mindepth', '1'], { cwd: dir, encoding: 'utf8' });
  const cpio = execFileSync('cpio', ['-o', '-H', 'newc', '--quiet', '--owner=0:0'], { cwd: dir, input: files, maxBuffer: 256 << 20 });
  writeFileSync(`${kernel.initramfs}.${process.pid}`, gzipSync(cpio));
  renameSync(`${kernel.initramfs}.${process.pid}`, kernel.initramfs);
  rmSync(dir, { recursive: true, force: true });
}
