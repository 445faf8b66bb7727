// Runs one command inside a QEMU guest booting the cached Debian kernel, with this machine's root filesystem
// shared read-only and chosen directories shared writable at the same paths.
import { spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ensureCmaKernel, ensureTestKernel } from './cma-kernel.js';
import { cacheDir, ensureStockKernel, moduleChain, type Kernel } from './kernel.js';

export interface ModuleLoad {
  name: string;
  /** Module parameters, e.g. `n_devs=2 allocators=0,1`. */
  params?: string;
}

export interface RunOptions {
  /** argv of the command to run inside the guest. */
  command: string[];
  /** Working directory inside the guest (the same path as on the host). Default: `process.cwd()`. */
  cwd?: string;
  /** Directories shared writable at the same path. Default: `[cwd]`. Everything else is read-only. */
  writable?: string[];
  /** Extra environment for the command. PATH, HOME and TMPDIR are set for the guest. */
  env?: Record<string, string>;
  /** Run as this uid/gid instead of root (e.g. 65534 for `nobody`). */
  user?: { uid: number; gid: number };
  /**
   * Kernel modules to load first, with parameters. Refused for a kernel without a modules root (the CMA
   * kernel has everything built in: give driver options in `cmdline`, e.g. `vivid.n_devs=2`).
   */
  modules?: Array<string | ModuleLoad>;
  /** Huge pages to reserve (`/proc/sys/vm/nr_hugepages`) first. */
  hugepages?: number;
  /** Shell lines run as root before the command (e.g. sysctl writes). */
  setup?: string[];
  /** Guest memory, QEMU syntax. Default `2G`. */
  memory?: string;
  cpus?: number;
  /** Extra kernel command line. */
  cmdline?: string;
  /** Kill the guest after this long. Default 20 minutes. */
  timeoutMs?: number;
  /** `auto` tries KVM when /dev/kvm is usable and falls back to TCG. */
  accel?: 'auto' | 'kvm' | 'tcg';
  /** Receives each line the command prints (kernel messages filtered out). Default: process.stdout. */
  onLine?: (line: string) => void;
  /**
   * The kernel to boot: `'stock'` (Debian's 6.12, the default), `'cma'` (built once, see ensureCmaKernel),
   * `'arm64'` (the arm64 test kernel, cross-built once: heaps, CMA, udmabuf, vgem, vivid built in), `'arm64-16k'`
   * (Debian's arm64 kernel with 16 KiB pages, with modules), or one given.
   */
  kernel?: Kernel | 'stock' | 'cma' | 'arm64' | 'arm64-16k';
}

export interface RunResult {
  exitCode: number;
  /** Wall time of the whole boot-run-poweroff. */
  durationMs: number;
  accel: 'kvm' | 'tcg';
  /** The job's directory on the host: `console.log` holds everything the guest printed. */
  jobDir: string;
  /** The release of the kernel the guest booted (`6.12.118+deb12-amd64`, `6.12.118-dmaheap-cma`). */
  release: string;
}

/** Quotes one argument for a POSIX shell. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

interface Share {
  path: string;
  writable: boolean;
}

const KERNEL_LINE = /^\[\s*\d+\.\d+\]/;

function kvmUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function jobScript(opts: RunOptions, kernel: Kernel, cwd: string, jobDir: string): string {
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/tmp',
    TMPDIR: '/tmp',
    LANG: 'C.UTF-8',
    DMAHEAP_IN_VM: '1',
    // The serial console is a tty, but nobody types at it: tools should print as they do in CI.
    CI: process.env.CI ?? '1',
    TERM: 'dumb',
    // A guest of another architecture: node-gyp-build must take the prebuild for it, not this machine's build.
    ...(kernel.arch === 'arm64' ? { PREBUILDS_ONLY: '1' } : {}),
    ...opts.env,
  };
  // The first thing the job does is say it started: a guest that dies before this line can be booted again.
  const lines = ['set -e', `: > ${shellQuote(join(jobDir, 'started'))}`];
  for (const [k, v] of Object.entries(env)) lines.push(`export ${k}=${shellQuote(v)}`);
  for (const m of opts.modules ?? []) {
    const { name, params } = typeof m === 'string' ? { name: m, params: '' } : m;
    if (kernel.arch === 'arm64') {
      // No modprobe for arm64 here: insmod each file, dependencies first (a module already loaded is fine).
      const chain = moduleChain(kernel, name);
      for (const file of chain.slice(0, -1)) lines.push(`insmod ${shellQuote(file)} 2>/dev/null || true`);
      lines.push(`insmod ${shellQuote(chain.at(-1)!)} ${params ?? ''}`);
    } else {
      lines.push(`modprobe -d ${shellQuote(kernel.modulesRoot!)} ${shellQuote(name)} ${params ?? ''}`);
    }
  }
  if (opts.hugepages) lines.push(`echo ${opts.hugepages} > /proc/sys/vm/nr_hugepages`);
  lines.push(WARM_STATIC_KEYS);
  lines.push(...(opts.setup ?? []));
  lines.push(`cd ${shellQuote(cwd)}`, 'set +e');
  const argv = opts.command.map(shellQuote).join(' ');
  if (opts.user) {
    lines.push(`exec setpriv --reuid=${opts.user.uid} --regid=${opts.user.gid} --clear-groups -- ${argv} 2>&1`);
  } else {
    lines.push(`exec ${argv} 2>&1`);
  }
  return lines.join('\n') + '\n';
}

/**
 * The kernel patches its own code when a static key first flips, and under TCG a vCPU running that code as it is
 * patched can take the breakpoint the patch leaves there as an oops: the stock guest panicked so (`Oops: int3`
 * in kmem_cache_alloc_noprof, then "Fatal exception in interrupt") when the bench's pressure scenario made its
 * first memory cgroup while another thread allocated. So the job flips the keys a first memory cgroup flips
 * (memcg_kmem_online_key stays on once set) before anything runs: it makes one and removes it, mounting cgroup2
 * for that only when nothing is mounted there, and unmounting it again.
 */
const WARM_STATIC_KEYS = [
  '( c=/sys/fs/cgroup; m=; grep -q " $c cgroup2 " /proc/mounts || { mount -t cgroup2 none $c && m=1; }',
  'echo +memory > $c/cgroup.subtree_control; mkdir $c/dmaheap-warm-keys && rmdir $c/dmaheap-warm-keys',
  '[ -z "$m" ] || umount $c ) 2>/dev/null || true',
].join('; ');

/** The QEMU of a guest's architecture: the PC, or arm64's `virt` machine. */
function qemuFor(kernel: Kernel): { binary: string; machine: string[]; console: string } {
  return kernel.arch === 'arm64'
    ? { binary: 'qemu-system-aarch64', machine: ['-M', 'virt'], console: 'ttyAMA0' }
    : { binary: 'qemu-system-x86_64', machine: [], console: 'ttyS0' };
}

function qemuArgs(opts: RunOptions, kernel: Kernel, jobDir: string, shares: Share[], accel: 'kvm' | 'tcg'): string[] {
  const q = qemuFor(kernel);
  const args = [
    ...q.machine,
    ...(accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max']),
    '-m', opts.memory ?? '2G',
    '-smp', String(opts.cpus ?? 2),
    '-nodefaults', '-no-reboot', '-display', 'none', '-serial', 'stdio',
    '-kernel', kernel.image,
    '-initrd', kernel.initramfs,
    '-append', `console=${q.console} quiet panic=-1 random.trust_cpu=on dmaheap.job=${jobDir} ${opts.cmdline ?? ''}`.trim(),
    '-fsdev', `local,id=host,path=${kernel.root ?? '/'},security_model=none,readonly=on,multidevs=remap`,
    '-device', 'virtio-9p-pci,fsdev=host,mount_tag=host',
  ];
  shares.forEach((share, i) => {
    const ro = share.writable ? '' : ',readonly=on';
    args.push('-fsdev', `local,id=s${i},path=${share.path},security_model=none,multidevs=remap${ro}`);
    args.push('-device', `virtio-9p-pci,fsdev=s${i},mount_tag=s${i}`);
  });
  return args;
}

let jobCounter = 0;

/** Boots the guest, runs `opts.command`, streams its output and returns its exit code. */
export async function runInVm(opts: RunOptions): Promise<RunResult> {
  const kernel =
    opts.kernel === 'cma'
      ? ensureCmaKernel()
      : opts.kernel === 'arm64'
        ? ensureTestKernel('arm64')
        : opts.kernel === 'arm64-16k'
          ? ensureStockKernel('arm64-16k')
          : opts.kernel === undefined || opts.kernel === 'stock'
            ? ensureStockKernel()
            : opts.kernel;
  if (opts.modules?.length && !kernel.modulesRoot) {
    const names = opts.modules.map((m) => (typeof m === 'string' ? m : m.name)).join(', ');
    throw new Error(
      `kernel ${kernel.release} has no modules (everything is built in), so modules cannot be loaded: ${names}; ` +
        'give driver options on the kernel command line instead (cmdline, e.g. "vivid.n_devs=2")',
    );
  }
  const cwd = resolve(opts.cwd ?? process.cwd());
  const jobDir = join(cacheDir(), 'jobs', `${process.pid}-${Date.now()}-${jobCounter++}`);
  rmSync(jobDir, { recursive: true, force: true });
  mkdirSync(jobDir, { recursive: true });
  // Writable shares, then the kernel's modules read-only: the host's root is shared too, but a path under /tmp
  // would be hidden by the guest's own tmpfs.
  const shares: Share[] = [
    { path: jobDir, writable: true },
    ...(opts.writable ?? [cwd]).map((p) => ({ path: resolve(p), writable: true })),
    ...(kernel.modulesRoot ? [{ path: kernel.modulesRoot, writable: false }] : []),
  ];
  writeFileSync(join(jobDir, 'shares'), shares.map((s, i) => `s${i} ${s.writable ? 'rw' : 'ro'} ${s.path}\n`).join(''));
  writeFileSync(join(jobDir, 'job.sh'), jobScript(opts, kernel, cwd, jobDir));

  const want = opts.accel ?? (process.env.DMAHEAP_VM_ACCEL as RunOptions['accel']) ?? 'auto';
  // KVM runs guests of this machine's own architecture only.
  const sameArch = (kernel.arch ?? 'x64') === process.arch;
  const tryKvm = sameArch && (want === 'kvm' || (want === 'auto' && kvmUsable()));
  if (tryKvm) {
    const result = await boot(opts, kernel, jobDir, shares, 'kvm');
    if (result.exitCode !== 125 || want === 'kvm') return result;
    process.stderr.write('[vm] KVM did not start the guest; using TCG (software emulation)\n');
  }
  // Under TCG a guest kernel very rarely panics while booting, before the job begins (seen once in about
  // thirty boots: "Fatal exception in interrupt" 1.8 s in). Nothing of the job has run then, so boot again.
  for (let attempt = 1; ; attempt++) {
    const result = await boot(opts, kernel, jobDir, shares, 'tcg');
    const started = existsSync(join(jobDir, 'started'));
    if (result.exitCode !== 125 || started || attempt === BOOT_ATTEMPTS) return result;
    const log = readFileSync(join(jobDir, 'console.log'), 'utf8');
    const why = /Kernel panic[^\n]*/.exec(log)?.[0] ?? 'no exit code';
    process.stderr.write(`[vm] the guest died before its job started (${why}); booting again (${attempt + 1}/${BOOT_ATTEMPTS})\n`);
  }
}

const BOOT_ATTEMPTS = 3;

function boot(opts: RunOptions, kernel: Kernel, jobDir: string, shares: Share[], accel: 'kvm' | 'tcg'): Promise<RunResult> {
  const started = Date.now();
  rmSync(join(jobDir, 'exit'), { force: true });
  rmSync(join(jobDir, 'started'), { force: true });
  const consoleLog = createWriteStream(join(jobDir, 'console.log'));
  const onLine = opts.onLine ?? ((line: string) => process.stdout.write(line + '\n'));
  const qemu = spawn(qemuFor(kernel).binary, qemuArgs(opts, kernel, jobDir, shares, accel), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  qemu.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: qemu.stdout }).on('line', (raw) => {
    const line = raw.replace(/\r/g, '');
    consoleLog.write(line + '\n');
    if (!KERNEL_LINE.test(line)) onLine(line);
  });
  const timeoutMs = opts.timeoutMs ?? 20 * 60_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    qemu.kill('SIGKILL');
  }, timeoutMs);
  return new Promise((done, fail) => {
    qemu.on('error', (err) => {
      clearTimeout(timer);
      fail(err);
    });
    qemu.on('close', (code) => {
      clearTimeout(timer);
      const exitFile = join(jobDir, 'exit');
      let exitCode: number;
      if (timedOut) {
        process.stderr.write(`[vm] guest killed after ${timeoutMs} ms\n`);
        exitCode = 124;
      } else if (existsSync(exitFile)) {
        exitCode = Number.parseInt(readFileSync(exitFile, 'utf8').trim(), 10);
      } else {
        process.stderr.write(`[vm] guest ended without reporting an exit code (qemu exit ${code})\n${stderr}`);
        exitCode = 125;
      }
      // console.log is complete before the caller reads it.
      consoleLog.end(() => done({ exitCode, durationMs: Date.now() - started, accel, jobDir, release: kernel.release }));
    });
  });
}
