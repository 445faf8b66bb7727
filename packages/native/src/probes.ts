// What the running kernel does, measured in this boot rather than read off a version string. Kernel behaviour
// that dmaheap designs around changes under a stable series (Debian's 6.12.118 took "mm/gup: fix clearing
// folios in memfd_pin_folios()", and udmabufs over fallocated pages stopped showing old memory), so tests and
// `dmaheap doctor` ask the kernel that runs. Each probe says what it did, what it saw, and `unmeasured` with the
// reason when this process cannot tell (no device access, no cgroup to measure in).
import { closeSync, openSync, readFileSync, readSync, constants as fsc } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { constants } from './binding.js';
import { heapAlloc } from './dmabuf.js';
import { closeFd, openDevice } from './fds.js';
import { mmapFd, munmap } from './mappings.js';
import { addSeals, fallocate, ftruncate, memfdCreate } from './memfd.js';
import { udmabufCreate } from './udmabuf.js';
import { PAGE_SIZE } from './validate.js';

const MiB = 1024 * 1024;

/** A probe's answer: what the kernel did (`yes`/`no`), or `unmeasured`; and in words, what was done and seen. */
export interface Probe<Detail = Record<string, number | string | boolean | null>> {
  verdict: 'yes' | 'no' | 'unmeasured';
  /** One sentence: what was measured and how, or why nothing could be. */
  how: string;
  detail: Detail;
}

/** Whether the page allocator clears pages as it hands them out (`init_on_alloc`) and as they are freed. */
export interface PageInit {
  atAlloc: boolean | null;
  atFree: boolean | null;
  /** Where this came from: the boot log's "mem auto-init" line, the command line, or the kernel's config. */
  source: string;
}

/**
 * The kernel's page initialisation: the boot log's `mem auto-init: ..., heap alloc:on, heap free:off` line
 * (readable by root), else an explicit `init_on_alloc=`/`init_on_free=` on the command line, else
 * `CONFIG_INIT_ON_ALLOC_DEFAULT_ON` from /proc/config.gz or /boot/config-<release>; null where none says.
 */
export function pageInit(files: { cmdline?: string; bootLog?: string[] | null; config?: string | null } = {}): PageInit {
  const log = files.bootLog !== undefined ? files.bootLog : bootLog();
  const line = log?.find((l) => /mem auto-init:.*heap alloc:(on|off)/.test(l));
  if (line) {
    const alloc = /heap alloc:(on|off)/.exec(line)![1] === 'on';
    const free = /heap free:(on|off)/.exec(line)?.[1];
    return { atAlloc: alloc, atFree: free === undefined ? null : free === 'on', source: 'the boot log (mem auto-init)' };
  }
  const cmdline = files.cmdline ?? readOr('/proc/cmdline', '');
  const flag = (name: string): boolean | null => {
    const m = new RegExp(`(?:^|\\s)${name}=(\\S+)`).exec(cmdline);
    return m ? /^(1|on|y|yes|true)$/i.test(m[1]!) : null;
  };
  const config = files.config !== undefined ? files.config : kernelConfig();
  const option = (name: string): boolean | null => (config === null ? null : new RegExp(`^CONFIG_${name}=y$`, 'm').test(config));
  const alloc = flag('init_on_alloc') ?? option('INIT_ON_ALLOC_DEFAULT_ON');
  const free = flag('init_on_free') ?? option('INIT_ON_FREE_DEFAULT_ON');
  const source = flag('init_on_alloc') !== null ? 'the kernel command line' : config !== null ? "the kernel's config" : 'nothing readable (boot log, command line, config)';
  return { atAlloc: alloc, atFree: free, source };
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** The kernel's config, from /proc/config.gz (CONFIG_IKCONFIG_PROC) or /boot/config-<release>; null if neither. */
function kernelConfig(): string | null {
  try {
    return gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  } catch {
    const release = readOr('/proc/sys/kernel/osrelease', '').trim();
    const text = release ? readOr(`/boot/config-${release}`, '') : '';
    return text || null;
  }
}

/**
 * A reader of the kernel log (`/dev/kmsg`, without blocking: root, or anyone where dmesg_restrict is 0): each
 * `read()` gives the records not read yet, the first one every record still in the ring buffer. Null when the log
 * cannot be opened.
 */
export function kernelLogReader(): { read(): string[]; close(): void } | null {
  let fd: number;
  try {
    fd = openSync('/dev/kmsg', fsc.O_RDONLY | fsc.O_NONBLOCK);
  } catch {
    return null;
  }
  const chunk = Buffer.alloc(8192);
  const read = (): string[] => {
    const out: string[] = [];
    for (;;) {
      try {
        const n = readSync(fd, chunk, 0, chunk.length, null);
        out.push(chunk.toString('utf8', 0, n));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') return out;
        if (code !== 'EPIPE') throw err; // EPIPE: records were overwritten; read on
      }
    }
  };
  return { read, close: () => closeSync(fd) };
}

/** The kernel log's records still in its ring buffer; null when it cannot be read. */
export function bootLog(): string[] | null {
  const log = kernelLogReader();
  if (!log) return null;
  try {
    return log.read();
  } catch {
    return null;
  } finally {
    log.close();
  }
}

/** Leaves `bytes` of free memory holding `byte`: a memfd filled and closed, its pages back in the free lists. */
export function dirtyFreeMemory(bytes: number, byte = 0xa5): void {
  if (bytes <= 0) return;
  const memfd = memfdCreate('dmaheap-probe-dirt');
  try {
    ftruncate(memfd, bytes);
    const view = new Uint8Array(mmapFd(memfd, { length: bytes }));
    view.fill(byte);
    munmap(view.buffer as ArrayBuffer);
  } finally {
    closeFd(memfd);
  }
}

/** Number of 4 KiB-or-page-sized pages of `view` holding a non-zero byte. */
function nonZeroPages(view: Uint8Array): number {
  const zero = new Uint8Array(PAGE_SIZE);
  let n = 0;
  for (let p = 0; p < view.length; p += PAGE_SIZE) if (Buffer.compare(view.subarray(p, p + PAGE_SIZE), zero) !== 0) n++;
  return n;
}

/**
 * Does a udmabuf over fallocated memfd pages show what was in that memory before? `fallocate` gives a shmem file
 * pages without clearing them (shmem clears a page at its first fault or read); udmabuf pins the pages it finds.
 * Where the page allocator does not clear either (`init_on_alloc` off), such a dma-buf showed other processes'
 * old memory up to Debian's 6.12.117; 6.12.118's memfd_pin_folios clears them. `dirtyBytes` of free memory are
 * filled first so that old memory, if reachable, is not zero. `yes`: some page held old data.
 */
export function probeFallocatedUdmabuf(options: { bytes?: number; dirtyBytes?: number; udmabuf?: string } = {}): Probe<{ pages: number; stalePages: number; dirtiedBytes: number }> {
  const bytes = options.bytes ?? 16 * MiB;
  const dirtiedBytes = options.dirtyBytes ?? 64 * MiB;
  const detail = { pages: bytes / PAGE_SIZE, stalePages: 0, dirtiedBytes };
  let dev: number;
  try {
    dev = openDevice(options.udmabuf ?? '/dev/udmabuf', constants.O_RDWR);
  } catch (err) {
    return { verdict: 'unmeasured', how: `/dev/udmabuf does not open (${(err as NodeJS.ErrnoException).code ?? err})`, detail };
  }
  let memfd = -1;
  try {
    dirtyFreeMemory(dirtiedBytes);
    memfd = memfdCreate('dmaheap-probe-fallocate', { allowSealing: true });
    ftruncate(memfd, bytes);
    addSeals(memfd, ['shrink', 'grow']);
    fallocate(memfd, 0, bytes);
    const ufd = udmabufCreate(dev, { memfd, size: bytes });
    try {
      const view = new Uint8Array(mmapFd(ufd, { length: bytes }));
      detail.stalePages = nonZeroPages(view);
      munmap(view.buffer as ArrayBuffer);
    } finally {
      closeFd(ufd);
    }
  } finally {
    if (memfd >= 0) closeFd(memfd);
    closeFd(dev);
  }
  const how = `${detail.stalePages} of ${detail.pages} fallocated memfd pages pinned by a udmabuf held old data, after ${dirtiedBytes / MiB} MiB of free memory was filled with 0xa5`;
  return { verdict: detail.stalePages > 0 ? 'yes' : 'no', how, detail };
}

/** This process's cgroup v2 directory (under /sys/fs/cgroup), or null when it is the root or not cgroup v2. */
export function ownCgroup(procSelfCgroup = readOr('/proc/self/cgroup', '')): string | null {
  const m = /^0::(\/\S*)$/m.exec(procSelfCgroup);
  if (!m || m[1] === '/') return null;
  return `/sys/fs/cgroup${m[1]}`;
}

/**
 * Are pages of a kernel heap charged to the allocating process's memory cgroup? Allocates `bytes` from
 * `/dev/dma_heap/<heap>` (touching nothing) and reads the cgroup's `memory.current` before and after.
 * `yes`: charged (a container's memory.max limits them); `no`: under a tenth of them were.
 */
export function probeHeapMemcg(options: { heap?: string; bytes?: number; cgroup?: string | null } = {}): Probe<{ allocated: number; charged: number | null; cgroup: string | null }> {
  const bytes = options.bytes ?? 32 * MiB;
  const cgroup = options.cgroup !== undefined ? options.cgroup : ownCgroup();
  const detail = { allocated: bytes, charged: null as number | null, cgroup };
  if (cgroup === null) return { verdict: 'unmeasured', how: 'this process is in the root memory cgroup (or not on cgroup v2), which has no memory.current', detail };
  const current = (): number | null => {
    const t = readOr(`${cgroup}/memory.current`, '').trim();
    return /^\d+$/.test(t) ? Number(t) : null;
  };
  if (current() === null) return { verdict: 'unmeasured', how: `${cgroup} has no memory.current (the memory controller is off there)`, detail };
  const path = `/dev/dma_heap/${options.heap ?? 'system'}`;
  let heapFd: number;
  try {
    heapFd = openDevice(path);
  } catch (err) {
    return { verdict: 'unmeasured', how: `${path} does not open (${(err as NodeJS.ErrnoException).code ?? err})`, detail };
  }
  try {
    const before = current()!;
    const buf = heapAlloc(heapFd, bytes);
    const after = current()!;
    closeFd(buf);
    detail.charged = Math.max(0, after - before);
  } finally {
    closeFd(heapFd);
  }
  const yes = detail.charged >= bytes / 2;
  const no = detail.charged < bytes / 10;
  const how = `${(detail.charged / MiB).toFixed(1)} MiB of a ${bytes / MiB} MiB ${path} buffer were charged to ${cgroup}`;
  return { verdict: yes ? 'yes' : no ? 'no' : 'unmeasured', how: yes || no ? how : `${how}: neither most nor none (other allocations in the cgroup?)`, detail };
}
