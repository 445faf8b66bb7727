// Small test kernels built from Debian's own 6.12 sources (`linux-source-6.12`): `make tinyconfig`, plus the
// fragment below, `make olddefconfig`, then the image. Everything is built in (no modules), so driver options go
// on the kernel command line. Two of them: for x86_64 the CMA kernel (Debian's x86 kernels have no CMA), and for
// arm64, cross-compiled with Debian's gcc-aarch64-linux-gnu, the arm64 test kernel (Debian's arm64 6.12 has CMA but
// no dma-buf heaps: `# CONFIG_DMABUF_HEAPS is not set`). Each is built once into the cache, under a directory
// named by a hash of its fragment: a changed fragment rebuilds.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { cacheDir, ensureArm64Root, log, run, withInitramfs, type Kernel } from './kernel.js';

/** The Debian package with the kernel sources (a tarball under /usr/src). */
export const CMA_KERNEL_SOURCE_PACKAGE = 'linux-source-6.12';

/** The architectures the test bed boots. */
export type Arch = 'x64' | 'arm64';

/** What building a kernel needs besides the sources (`make`, `gcc`, `xz` come with the bootstrap). */
const BUILD_PACKAGES = [CMA_KERNEL_SOURCE_PACKAGE, 'bc', 'bison', 'flex', 'libelf-dev', 'libssl-dev', 'make', 'gcc', 'xz-utils'];
const CROSS_PACKAGES: Record<Arch, string[]> = { x64: [], arm64: ['gcc-aarch64-linux-gnu'] };

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
  // the device layer's virtual devices: vim2m (a converter), vicodec (a stateful FWHT encoder and decoder), vkms
  // (a display with a writeback connector), sw_sync (fences a test signals itself, in debugfs). Built in, vicodec
  // and vim2m register their nodes before vivid's (link order), so tests find nodes by name, never by number.
  'VIDEO_VIM2M', 'VIDEO_VICODEC', 'DRM_VKMS', 'SW_SYNC',
] as const;

/** What only the PC needs: the 8250 UART on ttyS0, ACPI for power-off. */
const X64_ONLY = new Set(['SERIAL_8250', 'SERIAL_8250_CONSOLE', 'ACPI']);

/** The options of each architecture's test kernel (the x86_64 list is the CMA kernel's, in its order). */
export const KERNEL_OPTIONS: Record<Arch, readonly string[]> = {
  x64: CMA_KERNEL_OPTIONS,
  // QEMU's `virt` machine: PL011 UART on ttyAMA0, a generic ECAM PCI host, PSCI (always on arm64) for power-off.
  arm64: [...CMA_KERNEL_OPTIONS.filter((o) => !X64_ONLY.has(o)), 'SERIAL_AMBA_PL011', 'SERIAL_AMBA_PL011_CONSOLE', 'PCI_HOST_GENERIC'],
};

/** Options turned off: media classes nobody here uses (digital TV alone costs a minute of build). */
const OFF = [
  'MEDIA_DIGITAL_TV_SUPPORT', 'MEDIA_ANALOG_TV_SUPPORT', 'MEDIA_RADIO_SUPPORT', 'MEDIA_SDR_SUPPORT',
  'MEDIA_PLATFORM_SUPPORT', 'MEDIA_USB_SUPPORT', 'MEDIA_PCI_SUPPORT',
];

const LOCALVERSION: Record<Arch, string> = { x64: '-dmaheap-cma', arm64: '-dmaheap-arm64' };

/** The config fragment merged over `make tinyconfig`. */
export function cmaConfigFragment(arch: Arch = 'x64'): string {
  return [
    ...KERNEL_OPTIONS[arch].map((o) => `CONFIG_${o}=y`),
    ...OFF.map((o) => `# CONFIG_${o} is not set`),
    `CONFIG_LOCALVERSION="${LOCALVERSION[arch]}"`,
    '# CONFIG_LOCALVERSION_AUTO is not set',
    '',
  ].join('\n');
}

/** `make` for an architecture: natively, or with ARCH and CROSS_COMPILE for arm64. */
const MAKE_ARGS: Record<Arch, string[]> = { x64: [], arm64: ['ARCH=arm64', 'CROSS_COMPILE=aarch64-linux-gnu-'] };
/** The image target and where it lands. */
const IMAGE: Record<Arch, { target: string; path: string[]; file: string }> = {
  x64: { target: 'bzImage', path: ['arch', 'x86', 'boot', 'bzImage'], file: 'bzImage' },
  arm64: { target: 'Image', path: ['arch', 'arm64', 'boot', 'Image'], file: 'Image' },
};

/** Whether a Debian package is installed. */
function installed(pkg: string): boolean {
  try {
    return run('dpkg-query', ['-W', '-f=${Status}', pkg]).includes('install ok installed');
  } catch {
    return false;
  }
}

/** Installs what the build needs with apt-get, as scripts/bootstrap.sh does for the rest. */
function ensureBuildPackages(arch: Arch): void {
  const wanted = [...BUILD_PACKAGES, ...CROSS_PACKAGES[arch]];
  const missing = wanted.filter((p) => !installed(p));
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
  const still = wanted.filter((p) => !installed(p));
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
      if (waited % 12 === 0) log(`waiting for another process (pid ${owner}) building a test kernel`);
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
export function checkConfig(config: string, arch: Arch = 'x64'): void {
  const values = new Map<string, string>();
  for (const line of config.split('\n')) {
    const set = /^CONFIG_(\w+)=(.*)$/.exec(line);
    if (set) values.set(set[1]!, set[2]!);
    const unset = /^# CONFIG_(\w+) is not set$/.exec(line);
    if (unset) values.set(unset[1]!, 'n');
  }
  const bad = KERNEL_OPTIONS[arch].filter((o) => values.get(o) !== 'y');
  if (bad.length) {
    throw new Error(
      `the ${arch} test kernel's .config lacks ${bad.length} wanted option(s) after make olddefconfig (unmet dependencies?): ` +
        bad.map((o) => `CONFIG_${o}=${values.get(o) ?? '(absent)'}`).join(', '),
    );
  }
}

function minutes(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** The cache directory of an architecture's test kernel, named by its fragment. */
function kernelDir(arch: Arch): string {
  const fragment = cmaConfigFragment(arch);
  return join(cacheDir(), `${arch === 'x64' ? 'cma' : 'arm64'}-${createHash('sha256').update(fragment).digest('hex').slice(0, 12)}`);
}

/**
 * Builds (once) and returns the CMA kernel: `make tinyconfig` of Debian's linux-source-6.12 plus
 * {@link CMA_KERNEL_OPTIONS}, all built in. No modules root: boot it with driver options on the command line
 * (see `VM_CMA_TEST_SETUP`). Takes about 6 minutes on 2 cores the first time; the time is printed.
 */
export function ensureCmaKernel(): Kernel {
  return ensureTestKernel('x64');
}

/**
 * Builds (once) and returns an architecture's test kernel (x64: the CMA kernel; arm64: cross-compiled, with the
 * dma-buf heaps, CMA, udmabuf, vgem and vivid built in).
 */
export function ensureTestKernel(arch: Arch): Kernel {
  const fragment = cmaConfigFragment(arch);
  const base = kernelDir(arch);
  const marker = join(base, 'ready');
  if (!existsSync(marker)) {
    mkdirSync(cacheDir(), { recursive: true });
    withLock(`${base}.lock`, () => {
      if (!existsSync(marker)) build(base, fragment, arch);
    });
  }
  const release = readFileSync(marker, 'utf8').trim();
  return withInitramfs(base, { release, image: join(base, IMAGE[arch].file), ...(arch === 'arm64' ? { arch, root: ensureArm64Root() } : {}) });
}

function build(base: string, fragment: string, arch: Arch): void {
  const started = Date.now();
  ensureBuildPackages(arch);
  const tarball = sourceTarball();
  rmSync(base, { recursive: true, force: true });
  const work = join(base, 'build');
  mkdirSync(work, { recursive: true });
  const logFile = join(base, 'build.log');
  const what = arch === 'x64' ? 'the CMA kernel' : `the ${arch} test kernel`;
  log(`building ${what} from ${tarball} (make tinyconfig + ${KERNEL_OPTIONS[arch].length} options, -j${cpus().length}); log: ${logFile}`);
  const out = openSync(logFile, 'a');
  const sh = (cmd: string, args: string[], cwd: string) => {
    writeFileSync(out, `\n$ ${cmd} ${args.join(' ')}\n`);
    try {
      execFileSync(cmd, args, { cwd, stdio: ['ignore', out, out] });
    } catch (err) {
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
      throw new Error(`${what} build: ${cmd} ${args.join(' ')} failed (full log ${logFile}):\n${tail}`, { cause: err });
    }
  };
  const make = MAKE_ARGS[arch];
  try {
    sh('tar', ['-xf', tarball, '-C', work], work);
    const entries = readdirSync(work);
    if (entries.length !== 1) throw new Error(`${tarball} did not unpack into one directory: ${entries.join(', ')}`);
    const src = join(work, entries[0]!);
    const unpacked = Date.now();
    sh('make', [...make, 'tinyconfig'], src);
    writeFileSync(join(src, 'dmaheap-test.config'), fragment);
    sh('env', [...make, 'scripts/kconfig/merge_config.sh', '-m', '.config', 'dmaheap-test.config'], src);
    sh('make', [...make, 'olddefconfig'], src);
    const config = readFileSync(join(src, '.config'), 'utf8');
    writeFileSync(join(base, 'config'), config);
    checkConfig(config, arch);
    sh('make', [...make, `-j${cpus().length}`, IMAGE[arch].target], src);
    const release = execFileSync('make', [...make, '-s', 'kernelrelease'], { cwd: src, encoding: 'utf8' }).trim();
    renameSync(join(src, ...IMAGE[arch].path), join(base, IMAGE[arch].file));
    const size = statSync(join(base, IMAGE[arch].file)).size;
    writeFileSync(join(base, 'build-time'), `${Date.now() - started}\n`);
    writeFileSync(join(base, 'ready'), `${release}\n`);
    log(
      `${what} ${release} built in ${minutes(Date.now() - started)} (unpacking ${minutes(unpacked - started)}, ` +
        `configure + make ${minutes(Date.now() - unpacked)}); ${IMAGE[arch].file} ${(size / 1e6).toFixed(1)} MB`,
    );
  } finally {
    closeSync(out);
    rmSync(work, { recursive: true, force: true });
  }
}

/** How long the cached CMA kernel (or another architecture's test kernel) took to build, in ms (undefined before). */
export function cmaKernelBuildTime(arch: Arch = 'x64'): number | undefined {
  try {
    return Number(readFileSync(join(kernelDir(arch), 'build-time'), 'utf8'));
  } catch {
    return undefined;
  }
}
