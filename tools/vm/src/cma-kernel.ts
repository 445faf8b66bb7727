// A small kernel with CMA for the test bed. Debian's x86 kernels have no CMA, so this builds one from Debian's
// own 6.12 sources (`linux-source-6.12`): `make tinyconfig`, plus the fragment below, `make olddefconfig`,
// `make bzImage`. Everything is built in (no modules), so driver options go on the kernel command line.
// Built once into the cache, under a directory named by a hash of the fragment: a changed fragment rebuilds.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { cacheDir, log, run, withInitramfs, type Kernel } from './kernel.js';

/** The Debian package with the kernel sources (a tarball under /usr/src). */
export const CMA_KERNEL_SOURCE_PACKAGE = 'linux-source-6.12';

/** What building a kernel needs besides the sources (`make`, `gcc`, `xz` come with the bootstrap). */
const BUILD_PACKAGES = [CMA_KERNEL_SOURCE_PACKAGE, 'bc', 'bison', 'flex', 'libelf-dev', 'libssl-dev', 'make', 'gcc', 'xz-utils'];

/**
 * Options that must end up `=y`. The core of it comes from VM.md (a kernel that boots the test bed's
 * initramfs, mounts the host over 9p and runs this machine's Node); then the memory features the tests use
 * (CMA and its heap, the system heap, udmabuf, huge pages, PSI) and the importers (vgem, vivid).
 */
export const CMA_KERNEL_OPTIONS = [
  // boot, console (kernel lines time-stamped, so the runner can filter them out), initramfs, power-off
  '64BIT', 'SMP', 'PRINTK', 'TTY', 'SERIAL_8250', 'SERIAL_8250_CONSOLE', 'BLK_DEV_INITRD', 'RD_GZIP',
  'PCI', 'PCI_MSI', 'ACPI', 'RTC_CLASS', 'HIGH_RES_TIMERS', 'KALLSYMS', 'PRINTK_TIME',
  // what busybox, the job script and Node need from the kernel
  'DEVTMPFS', 'PROC_FS', 'PROC_SYSCTL', 'SYSFS', 'TMPFS', 'SHMEM', 'MEMFD_CREATE', 'BINFMT_ELF', 'BINFMT_SCRIPT',
  'FUTEX', 'EPOLL', 'SIGNALFD', 'TIMERFD', 'EVENTFD', 'AIO', 'IO_URING', 'MULTIUSER', 'POSIX_TIMERS', 'RSEQ',
  'ADVISE_SYSCALLS', 'FHANDLE', 'INOTIFY_USER', 'FILE_LOCKING', 'UNIX98_PTYS', 'UNIX', 'NET', 'INET',
  // the host's filesystem: 9p over virtio (and virtiofs, as in Debian's kernel)
  'VIRTIO_MENU', 'VIRTIO', 'VIRTIO_PCI', 'NETWORK_FILESYSTEMS', 'NET_9P', 'NET_9P_VIRTIO', '9P_FS', 'FUSE_FS', 'VIRTIO_FS',
  // memory: CMA (with its debugfs and sysfs views), huge pages, pressure, cgroups
  'CMA', 'DMA_CMA', 'CMA_DEBUGFS', 'CMA_SYSFS', 'DEBUG_FS', 'HUGETLBFS', 'TRANSPARENT_HUGEPAGE', 'PSI', 'CGROUPS',
  'MEMCG', 'PROC_PAGE_MONITOR',
  // dma-bufs: the heaps and udmabuf
  'DMA_SHARED_BUFFER', 'SYNC_FILE', 'DMABUF_HEAPS', 'DMABUF_HEAPS_SYSTEM', 'DMABUF_HEAPS_CMA', 'UDMABUF',
  // importers: vgem (DRM PRIME) and vivid (V4L2 capture, vmalloc and dma-contig queues)
  'DRM', 'DRM_VGEM', 'FB', 'MEDIA_SUPPORT', 'MEDIA_SUPPORT_FILTER', 'MEDIA_TEST_SUPPORT', 'MEDIA_CAMERA_SUPPORT',
  'VIDEO_DEV', 'V4L_TEST_DRIVERS', 'VIDEO_VIVID',
] as const;

/** Options turned off: media classes nobody here uses (digital TV alone costs a minute of build). */
const OFF = [
  'MEDIA_DIGITAL_TV_SUPPORT', 'MEDIA_ANALOG_TV_SUPPORT', 'MEDIA_RADIO_SUPPORT', 'MEDIA_SDR_SUPPORT',
  'MEDIA_PLATFORM_SUPPORT', 'MEDIA_USB_SUPPORT', 'MEDIA_PCI_SUPPORT',
];

const LOCALVERSION = '-dmaheap-cma';

/** The config fragment merged over `make tinyconfig`. */
export function cmaConfigFragment(): string {
  return [
    ...CMA_KERNEL_OPTIONS.map((o) => `CONFIG_${o}=y`),
    ...OFF.map((o) => `# CONFIG_${o} is not set`),
    `CONFIG_LOCALVERSION="${LOCALVERSION}"`,
    '# CONFIG_LOCALVERSION_AUTO is not set',
    '',
  ].join('\n');
}

/** Whether a Debian package is installed. */
function installed(pkg: string): boolean {
  try {
    return run('dpkg-query', ['-W', '-f=${Status}', pkg]).includes('install ok installed');
  } catch {
    return false;
  }
}

/** Installs what the build needs with apt-get, as scripts/bootstrap.sh does for the rest. */
function ensureBuildPackages(): void {
  const missing = BUILD_PACKAGES.filter((p) => !installed(p));
  if (missing.length === 0) return;
  log(`installing Debian packages for the kernel build: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Other runs may hold the dpkg lock for a while: wait for it rather than fail.
  const lock = ['-o', 'DPkg::Lock::Timeout=600'];
  const install = () =>
    execFileSync('apt-get', [...lock, 'install', '-y', '-qq', '--no-install-recommends', ...missing], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    install();
  } catch {
    log('apt-get update, then install again');
    execFileSync('apt-get', [...lock, 'update', '-qq'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    install();
  }
  const still = BUILD_PACKAGES.filter((p) => !installed(p));
  if (still.length) throw new Error(`apt-get did not install ${still.join(' ')}`);
}

/** The source tarball the package installs, e.g. /usr/src/linux-source-6.12.tar.xz. */
function sourceTarball(): string {
  const files = run('dpkg-query', ['-L', CMA_KERNEL_SOURCE_PACKAGE]).split('\n');
  const tarball = files.find((f) => /^\/usr\/src\/linux-source-[\d.]+\.tar\.(xz|bz2|gz)$/.test(f));
  if (!tarball) throw new Error(`${CMA_KERNEL_SOURCE_PACKAGE} installed no /usr/src/linux-source-*.tar.*`);
  return tarball;
}

/** Sleeps without spinning (the caller is synchronous, like the rest of the kernel set-up). */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs `fn` holding a lock directory (one build at a time; a lock left by a dead process is taken over). */
function withLock<T>(lock: string, fn: () => T): T {
  for (let waited = 0; ; waited++) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        // Just made, pid not written yet.
      }
      if (Number.isInteger(owner) && !alive(owner)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (waited % 12 === 0) log(`waiting for another process (pid ${owner}) building the CMA kernel`);
      sleep(5000);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Checks that every wanted option came out `=y`; the message names each one that did not and what it became. */
export function checkConfig(config: string): void {
  const values = new Map<string, string>();
  for (const line of config.split('\n')) {
    const set = /^CONFIG_(\w+)=(.*)$/.exec(line);
    if (set) values.set(set[1]!, set[2]!);
    const unset = /^# CONFIG_(\w+) is not set$/.exec(line);
    if (unset) values.set(unset[1]!, 'n');
  }
  const bad = CMA_KERNEL_OPTIONS.filter((o) => values.get(o) !== 'y');
  if (bad.length) {
    throw new Error(
      `the CMA kernel's .config lacks ${bad.length} wanted option(s) after make olddefconfig (unmet dependencies?): ` +
        bad.map((o) => `CONFIG_${o}=${values.get(o) ?? '(absent)'}`).join(', '),
    );
  }
}

function minutes(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/**
 * Builds (once) and returns the CMA kernel: `make tinyconfig` of Debian's linux-source-6.12 plus
 * {@link CMA_KERNEL_OPTIONS}, all built in. No modules root: boot it with driver options on the command line
 * (see `VM_CMA_TEST_SETUP`). Takes about 6 minutes on 2 cores the first time; the time is printed.
 */
export function ensureCmaKernel(): Kernel {
  const fragment = cmaConfigFragment();
  const base = join(cacheDir(), `cma-${createHash('sha256').update(fragment).digest('hex').slice(0, 12)}`);
  const image = join(base, 'bzImage');
  const marker = join(base, 'ready');
  if (!existsSync(marker)) {
    mkdirSync(cacheDir(), { recursive: true });
    withLock(`${base}.lock`, () => {
      if (!existsSync(marker)) build(base, fragment);
    });
  }
  const release = readFileSync(marker, 'utf8').trim();
  return withInitramfs(base, { release, image });
}

function build(base: string, fragment: string): void {
  const started = Date.now();
  ensureBuildPackages();
  const tarball = sourceTarball();
  rmSync(base, { recursive: true, force: true });
  const work = join(base, 'build');
  mkdirSync(work, { recursive: true });
  const logFile = join(base, 'build.log');
  log(`building the CMA kernel from ${tarball} (make tinyconfig + ${CMA_KERNEL_OPTIONS.length} options, -j${cpus().length}); log: ${logFile}`);
  const out = openSync(logFile, 'a');
  const sh = (cmd: string, args: string[], cwd: string) => {
    writeFileSync(out, `\n$ ${cmd} ${args.join(' ')}\n`);
    try {
      execFileSync(cmd, args, { cwd, stdio: ['ignore', out, out] });
    } catch (err) {
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
      throw new Error(`CMA kernel build: ${cmd} ${args.join(' ')} failed (full log ${logFile}):\n${tail}`, { cause: err });
    }
  };
  try {
    sh('tar', ['-xf', tarball, '-C', work], work);
    const entries = readdirSync(work);
    if (entries.length !== 1) throw new Error(`${tarball} did not unpack into one directory: ${entries.join(', ')}`);
    const src = join(work, entries[0]!);
    const unpacked = Date.now();
    sh('make', ['tinyconfig'], src);
    writeFileSync(join(src, 'dmaheap-cma.config'), fragment);
    sh('scripts/kconfig/merge_config.sh', ['-m', '.config', 'dmaheap-cma.config'], src);
    sh('make', ['olddefconfig'], src);
    const config = readFileSync(join(src, '.config'), 'utf8');
    writeFileSync(join(base, 'config'), config);
    checkConfig(config);
    sh('make', [`-j${cpus().length}`, 'bzImage'], src);
    const release = execFileSync('make', ['-s', 'kernelrelease'], { cwd: src, encoding: 'utf8' }).trim();
    renameSync(join(src, 'arch', 'x86', 'boot', 'bzImage'), join(base, 'bzImage'));
    const size = statSync(join(base, 'bzImage')).size;
    writeFileSync(join(base, 'build-time'), `${Date.now() - started}\n`);
    writeFileSync(join(base, 'ready'), `${release}\n`);
    log(
      `CMA kernel ${release} built in ${minutes(Date.now() - started)} (unpacking ${minutes(unpacked - started)}, ` +
        `configure + make ${minutes(Date.now() - unpacked)}); bzImage ${(size / 1e6).toFixed(1)} MB`,
    );
  } finally {
    closeSync(out);
    rmSync(work, { recursive: true, force: true });
  }
}

/** How long the cached CMA kernel took to build, in ms (undefined before it is built). */
export function cmaKernelBuildTime(): number | undefined {
  const base = join(cacheDir(), `cma-${createHash('sha256').update(cmaConfigFragment()).digest('hex').slice(0, 12)}`);
  try {
    return Number(readFileSync(join(base, 'build-time'), 'utf8'));
  } catch {
    return undefined;
  }
}
