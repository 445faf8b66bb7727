// `dmaheap doctor`: what this kernel offers for dma-bufs and what this user can use of it. The heaps under
// /dev/dma_heap and whether each opens (with the udev rule or group that fixes it when not), /dev/udmabuf and
// its limits, the CMA areas, hugetlb and transparent huge pages, the kernel caveats this project measured, and
// what openHeap('system') and openHeap('cma') open here, and why. Everything is read through `DoctorFs`
// (Node's by default, a FAKE in the host tests); the registry part is `resolveHeaps()`.
import * as fs from 'node:fs';
import { CMA_DEBUGFS_DIR, CMA_SYSFS_DIR, cmaHeapNames, DMA_HEAP_DIR, parseMeminfo, readCmaArea, UDMABUF_DEVICE } from '@dmaheap/core';
import { caveatsFor, NO_PROBES, type Caveat, type KernelProbes } from './doctor-caveats.js';
import type { HeapResolutions } from './doctor-registry.js';

export interface DoctorFs {
  readFile(path: string): string;
  readdir(path: string): string[];
  stat(path: string): { mode: number; uid: number; gid: number; isCharacterDevice: boolean };
  /** Opens and closes `path` (read-only, or read-write); `null` when that worked, else the error code. */
  tryOpen(path: string, readWrite: boolean): string | null;
}

export const nodeDoctorFs: DoctorFs = {
  readFile: (path) => fs.readFileSync(path, 'utf8'),
  readdir: (path) => fs.readdirSync(path),
  stat: (path) => {
    const s = fs.statSync(path);
    return { mode: s.mode, uid: s.uid, gid: s.gid, isCharacterDevice: s.isCharacterDevice() };
  },
  tryOpen: (path, readWrite) => {
    try {
      fs.closeSync(fs.openSync(path, readWrite ? fs.constants.O_RDWR : fs.constants.O_RDONLY));
      return null;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code ?? String(err);
    }
  },
};

export interface UserInfo {
  uid: number;
  gid: number;
  /** Supplementary groups (the primary one included). */
  groups: number[];
  name: string | null;
}

export interface Fix {
  /** What to do, in a sentence. */
  text: string;
  /** The udev rule that grants the node, when that is the fix. */
  udevRule: string | null;
  /** Commands to run (as root). */
  commands: string[];
}

export interface DeviceNode {
  path: string;
  present: boolean;
  /** Permission bits, octal (`0600`). */
  mode: string | null;
  owner: string | null;
  group: string | null;
  canOpen: boolean;
  /** Why it does not open (`EACCES`, `ENOENT`, ...). */
  error: string | null;
  fix: Fix | null;
}

export interface HeapNode extends DeviceNode {
  name: string;
  /** A CMA heap (a name kernels give CMA heaps, or a CMA area's). */
  cma: boolean;
}

export interface CmaArea {
  name: string;
  /** From debugfs (root, debugfs mounted): pages in the area, in use, the largest free run, the first frame. */
  pages: number | null;
  usedPages: number | null;
  maxChunkPages: number | null;
  basePfn: number | null;
  bytes: number | null;
  /** From sysfs (/sys/kernel/mm/cma/<name>): counters since boot, in pages. */
  allocPagesSuccess: number | null;
  allocPagesFail: number | null;
  releasePagesSuccess: number | null;
}

export interface DoctorReport {
  user: UserInfo & { groupNames: string[] };
  kernel: { release: string | null; pageInit: KernelProbes['pageInit'] };
  heaps: { dir: string; present: boolean; nodes: HeapNode[] };
  udmabuf: DeviceNode & { limits: { listLimit: number | null; sizeLimitMb: number | null } };
  cma: { total: number | null; free: number | null; areas: CmaArea[]; sysfs: string; debugfs: string };
  hugetlb: {
    pageSize: number | null;
    total: number | null;
    free: number | null;
    reserved: number | null;
    surplus: number | null;
    sizes: Array<{ pageSize: number; pages: number | null; free: number | null }>;
  };
  thp: { enabled: string | null; shmemEnabled: string | null; defrag: string | null };
  caveats: Caveat[];
  openHeap: HeapResolutions;
  /** What stops this user from using dma-buf heaps here; empty when nothing does. */
  problems: string[];
}

export const HEAP_DIR = DMA_HEAP_DIR;
export const UDMABUF = UDMABUF_DEVICE;
const RULES_FILE = '/etc/udev/rules.d/90-dmaheap.rules';

/* ---------------- pure parts ---------------- */

/** The selected value of a sysfs choice file: `always [madvise] never` -> `madvise`. */
export function parseChoice(text: string): string | null {
  const m = /\[([^\]]+)\]/.exec(text);
  return m ? m[1]! : text.trim() || null;
}

/** `name:x:gid:members` lines -> gid -> name, and the groups that list `user` as a member. */
export function parseGroupFile(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name && gid !== undefined && /^\d+$/.test(gid)) out.set(Number(gid), name);
  }
  return out;
}

/** `/etc/passwd` -> uid -> name. */
export function parsePasswdFile(text: string): Map<number, string> {
  return parseGroupFile(text); // the same shape: name:x:id:...
}

/**
 * What lets `user` open a node it cannot: joining the node's group where that group may open it; where it
 * already may (mode or membership), a security module or the device cgroup is refusing; otherwise a udev rule
 * giving the node to a group (video) the user joins.
 */
export function fixFor(
  node: { path: string; mode: number; gid: number; group: string | null; error: string },
  user: UserInfo,
  kind: 'heap' | 'udmabuf',
): Fix {
  const need = kind === 'heap' ? 0o4 : 0o6;
  const who = user.name ?? `uid ${user.uid}`;
  const groupMay = ((node.mode >> 3) & need) === need;
  const otherMay = (node.mode & need) === need;
  const inGroup = user.groups.includes(node.gid) || user.gid === node.gid;
  if (node.error !== 'EACCES' && node.error !== 'EPERM') {
    return { text: `opening ${node.path} failed with ${node.error}`, udevRule: null, commands: [] };
  }
  if (otherMay || (groupMay && inGroup)) {
    return {
      text: `its mode allows this user; a security module (SELinux, AppArmor) or the device cgroup refuses it (${node.error})`,
      udevRule: null,
      commands: [],
    };
  }
  if (groupMay && node.gid !== 0 && node.group) {
    return {
      text: `add ${who} to the group "${node.group}", which may open it (then log in again)`,
      udevRule: null,
      commands: [`usermod -aG ${node.group} ${who}`],
    };
  }
  const name = node.path.split('/').pop()!;
  const rule = kind === 'heap' ? `SUBSYSTEM=="dma_heap", KERNEL=="${name}", GROUP="video", MODE="0660"` : `KERNEL=="udmabuf", GROUP="video", MODE="0660"`;
  return {
    text: `a udev rule giving ${node.path} to the group video, in ${RULES_FILE}, then add ${who} to video (and log in again)`,
    udevRule: rule,
    commands: [`echo '${rule}' >> ${RULES_FILE}`, 'udevadm control --reload && udevadm trigger', `usermod -aG video ${who}`],
  };
}

/** What stops this user, in sentences; empty when nothing does. */
export function problemsOf(r: Pick<DoctorReport, 'heaps' | 'udmabuf' | 'openHeap'>): string[] {
  const out: string[] = [];
  if (!r.heaps.present && !r.udmabuf.present) {
    out.push(`this kernel has neither ${HEAP_DIR} (CONFIG_DMABUF_HEAPS) nor ${UDMABUF} (CONFIG_UDMABUF): no dma-buf can be allocated from userspace`);
  }
  for (const n of r.heaps.nodes) if (!n.canOpen) out.push(`${n.path} does not open for this user (${n.error})${n.fix ? `: ${n.fix.text}` : ''}`);
  if (r.udmabuf.present && !r.udmabuf.canOpen) out.push(`${UDMABUF} does not open read-write for this user (${r.udmabuf.error})${r.udmabuf.fix ? `: ${r.udmabuf.fix.text}` : ''}`);
  if (!r.openHeap.system.opens && (r.heaps.present || r.udmabuf.present)) out.push(`openHeap('system') fails: ${(r.openHeap.system.error ?? '').split('; ')[0]}`);
  return out;
}

/* ---------------- gathering ---------------- */

function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
function errorOf(read: () => unknown): string | null {
  try {
    read();
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

/** Why a debugfs directory cannot be listed, in words. */
function debugfsWhyNot(f: DoctorFs, dir: string): string {
  const error = errorOf(() => f.readdir(dir));
  if (error === 'EACCES' || error === 'EPERM') return `${error}: debugfs is root-only`;
  if (error !== 'ENOENT') return error ?? 'read';
  const top = attempt(() => f.readdir('/sys/kernel/debug'));
  if (top === undefined) return `${errorOf(() => f.readdir('/sys/kernel/debug'))}: debugfs is root-only`;
  if (top.length === 0) return 'debugfs is not mounted (mount -t debugfs debugfs /sys/kernel/debug)';
  return 'no cma directory in debugfs (no CMA area, or CONFIG_CMA_DEBUGFS off)';
}

function numberFile(f: DoctorFs, path: string): number | null {
  const t = attempt(() => f.readFile(path).trim());
  if (t === undefined || !/^-?\d+$/.test(t)) return null;
  return Number(t);
}

function deviceNode(f: DoctorFs, path: string, readWrite: boolean, user: UserInfo, groups: Map<number, string>, users: Map<number, string>, kind: 'heap' | 'udmabuf'): DeviceNode {
  const st = attempt(() => f.stat(path));
  if (!st) return { path, present: false, mode: null, owner: null, group: null, canOpen: false, error: 'ENOENT', fix: null };
  const error = f.tryOpen(path, readWrite);
  const group = groups.get(st.gid) ?? null;
  return {
    path,
    present: true,
    mode: (st.mode & 0o7777).toString(8).padStart(4, '0'),
    owner: users.get(st.uid) ?? String(st.uid),
    group: group ?? String(st.gid),
    canOpen: error === null,
    error,
    fix: error === null ? null : fixFor({ path, mode: st.mode, gid: st.gid, group, error }, user, kind),
  };
}

export interface GatherOptions {
  fs?: DoctorFs;
  user?: UserInfo;
  release?: string | null;
  pageSize?: number;
  /** The registry's answers (see resolveHeaps). */
  resolutions: HeapResolutions;
  /** What probeKernel measured (none in the host tests: NO_PROBES). */
  probes?: KernelProbes;
}

export function currentUser(f: DoctorFs = nodeDoctorFs): UserInfo {
  const uid = process.getuid?.() ?? -1;
  const gid = process.getgid?.() ?? -1;
  const names = attempt(() => parsePasswdFile(f.readFile('/etc/passwd')));
  return { uid, gid, groups: process.getgroups?.() ?? [], name: names?.get(uid) ?? null };
}

export function gatherDoctor(options: GatherOptions): DoctorReport {
  const f = options.fs ?? nodeDoctorFs;
  const user = options.user ?? currentUser(f);
  const groups = attempt(() => parseGroupFile(f.readFile('/etc/group'))) ?? new Map<number, string>();
  const users = attempt(() => parsePasswdFile(f.readFile('/etc/passwd'))) ?? new Map<number, string>();
  const release = options.release !== undefined ? options.release : (attempt(() => f.readFile('/proc/sys/kernel/osrelease').trim()) ?? null);
  const pageSize = options.pageSize ?? 4096;
  const meminfo = parseMeminfo(attempt(() => f.readFile('/proc/meminfo')) ?? '');
  const meminfoField = (field: string) => meminfo.get(field) ?? null;

  // CMA areas: sysfs (CONFIG_CMA_SYSFS) and debugfs (root, mounted).
  const CMA_SYSFS = CMA_SYSFS_DIR;
  const CMA_DEBUGFS = CMA_DEBUGFS_DIR;
  const sysfsAreas = attempt(() => f.readdir(CMA_SYSFS));
  const debugfsAreas = attempt(() => f.readdir(CMA_DEBUGFS));
  const debugfsState = debugfsAreas ? 'read' : debugfsWhyNot(f, CMA_DEBUGFS);
  const areaNames = [...new Set([...(sysfsAreas ?? []), ...(debugfsAreas ?? [])])].sort();
  // Each area's files as core's readCmaArea names them, read through DoctorFs where their directory was listed.
  const listed = (path: string) => (path.startsWith(`${CMA_SYSFS}/`) ? sysfsAreas : debugfsAreas) !== undefined;
  const areas: CmaArea[] = areaNames.map((name) => {
    const a = readCmaArea(name, { sysfs: CMA_SYSFS, debugfs: CMA_DEBUGFS }, (path) => (listed(path) ? (numberFile(f, path) ?? undefined) : undefined));
    const orNull = (n: number | undefined) => n ?? null;
    return {
      name,
      pages: orNull(a.pages),
      usedPages: orNull(a.usedPages),
      maxChunkPages: orNull(a.maxChunkPages),
      basePfn: orNull(a.basePfn),
      bytes: a.pages === undefined ? null : a.pages * pageSize,
      allocPagesSuccess: orNull(a.allocPagesSuccess),
      allocPagesFail: orNull(a.allocPagesFail),
      releasePagesSuccess: orNull(a.releasePagesSuccess),
    };
  });


  const heapNames = attempt(() => f.readdir(HEAP_DIR));
  const cmaHeaps = cmaHeapNames(heapNames ?? [], sysfsAreas ?? debugfsAreas);
  const nodes: HeapNode[] = (heapNames ?? []).sort().map((name) => ({
    name,
    cma: cmaHeaps.includes(name),
    ...deviceNode(f, `${HEAP_DIR}/${name}`, false, user, groups, users, 'heap'),
  }));
  const udmabuf = {
    ...deviceNode(f, UDMABUF, true, user, groups, users, 'udmabuf'),
    limits: {
      listLimit: numberFile(f, '/sys/module/udmabuf/parameters/list_limit'),
      sizeLimitMb: numberFile(f, '/sys/module/udmabuf/parameters/size_limit_mb'),
    },
  };

  const hugeSizes = (attempt(() => f.readdir('/sys/kernel/mm/hugepages')) ?? [])
    .map((d) => ({ d, kb: /^hugepages-(\d+)kB$/.exec(d)?.[1] }))
    .filter((x) => x.kb !== undefined)
    .map(({ d, kb }) => ({
      pageSize: Number(kb) * 1024,
      pages: numberFile(f, `/sys/kernel/mm/hugepages/${d}/nr_hugepages`),
      free: numberFile(f, `/sys/kernel/mm/hugepages/${d}/free_hugepages`),
    }))
    .sort((a, b) => a.pageSize - b.pageSize);
  const hugetlb = {
    pageSize: meminfoField('Hugepagesize'),
    total: meminfoField('HugePages_Total'),
    free: meminfoField('HugePages_Free'),
    reserved: meminfoField('HugePages_Rsvd'),
    surplus: meminfoField('HugePages_Surp'),
    sizes: hugeSizes,
  };
  const choice = (file: string) => {
    const t = attempt(() => f.readFile(`/sys/kernel/mm/transparent_hugepage/${file}`));
    return t === undefined ? null : parseChoice(t);
  };
  const thp = { enabled: choice('enabled'), shmemEnabled: choice('shmem_enabled'), defrag: choice('defrag') };

  const large: string[] = [];
  if ((hugetlb.total ?? 0) > 0) large.push(`${hugetlb.total} pages in the hugetlb pool (a MFD_HUGETLB memfd gets large folios)`);
  if (thp.shmemEnabled && !['never', 'deny'].includes(thp.shmemEnabled)) large.push(`shmem THP is "${thp.shmemEnabled}" (memfds can get large folios)`);
  const probes = options.probes ?? NO_PROBES;
  const caveats = caveatsFor({
    heaps: nodes.length > 0,
    systemHeap: nodes.some((n) => n.name === 'system'),
    udmabuf: udmabuf.present,
    largeFolios: large.length ? large.join('; ') : 'the hugetlb pool is empty and shmem THP is off, so memfds do not get large folios',
  }, probes);

  const report: DoctorReport = {
    user: { ...user, groupNames: [...new Set([user.gid, ...user.groups])].map((g) => groups.get(g) ?? String(g)) },
    kernel: { release, pageInit: probes.pageInit },
    heaps: { dir: HEAP_DIR, present: heapNames !== undefined, nodes },
    udmabuf,
    cma: {
      total: meminfoField('CmaTotal'),
      free: meminfoField('CmaFree'),
      areas,
      sysfs: sysfsAreas ? 'read' : 'absent (no CONFIG_CMA_SYSFS, or no CMA)',
      debugfs: debugfsState,
    },
    hugetlb,
    thp,
    caveats,
    openHeap: options.resolutions,
    problems: [],
  };
  report.problems = problemsOf(report);
  return report;
}
