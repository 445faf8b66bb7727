// From what /proc showed to what `dmaheap ls` reports: buffers by inode (each counted once however many
// processes hold it), each with its holders and how each holds it; processes with the buffers they hold and
// their totals; totals per exporter.
import type { BufinfoEntry } from './procfs.js';
import type { ProcScan, UnreadableProcess } from './scan.js';

/** How a process holds a buffer: an fd, a mapping (its fd closed), or both. */
export type HoldKind = 'fd' | 'mapping' | 'both';

export interface Holder {
  pid: number;
  how: HoldKind;
  /** Its fds for the buffer (several after dup). */
  fds: number[];
  /** Mappings (VMAs) of the buffer. */
  mappings: number;
  mappedBytes: number;
}

export interface BufferEntry {
  inode: number;
  /** `null` when no fd of it was readable and debugfs was not (a buffer only mapped). */
  exporter: string | null;
  name: string | null;
  size: number;
  /**
   * Where the size comes from: `fdinfo`; `bufinfo` (debugfs); `maps`, for a buffer only mapped, the end of its
   * furthest mapping (the buffer may be larger).
   */
  sizeFrom: 'fdinfo' | 'bufinfo' | 'maps';
  /** References to its file (fdinfo `count`, else bufinfo's); `null` when neither was readable. */
  refs: number | null;
  /** Devices attached (debugfs only); `null` without it. */
  attachments: number | null;
  holders: Holder[];
}

export interface ProcessBuffer extends Holder {
  inode: number;
  exporter: string | null;
  name: string | null;
  size: number;
  /** The other processes holding it. */
  sharedWith: number[];
}

export interface Totals {
  buffers: number;
  bytes: number;
}

export interface ProcessEntry {
  pid: number;
  command: string;
  uid: number | null;
  buffers: ProcessBuffer[];
  totals: Totals;
}

export interface ExporterTotals extends Totals {
  exporter: string | null;
}

export interface UnattributedBuffer {
  inode: number;
  exporter: string;
  name: string | null;
  size: number;
  refs: number;
  attachments: number;
}

export interface Snapshot {
  /** Every buffer the listed processes hold, by inode. */
  buffers: BufferEntry[];
  /** Processes holding dma-bufs (and every pid asked for), by pid. */
  processes: ProcessEntry[];
  /** Processes this user may not read (those asked for, with `pids`). */
  unreadable: Array<Omit<UnreadableProcess, 'uid'> & { uid: number | null }>;
  /** pids asked for that name no process. */
  missing: number[];
  /**
   * Buffers debugfs lists that no process read here holds (held in the kernel: a driver or an importer, or by
   * a process this user could not read); `null` when debugfs bufinfo was not readable, or with `pids`.
   */
  unattributed: UnattributedBuffer[] | null;
  totals: Totals & {
    /** Buffers held by more than one process. */
    shared: number;
    byExporter: ExporterTotals[];
    unattributed: Totals | null;
  };
  sources: {
    /** `read`, or why debugfs bufinfo was not: `ENOENT` (debugfs not mounted), `EACCES` (not root). */
    bufinfo: string;
    /** Processes that exited while they were read. */
    vanished: number;
  };
}

export interface SnapshotOptions {
  /** List only these processes (their buffers' other holders are still named). */
  pids?: readonly number[];
}

const byNumber = (a: number, b: number) => a - b;

function sum(buffers: Iterable<{ size: number }>): Totals {
  let n = 0;
  let bytes = 0;
  for (const b of buffers) {
    n++;
    bytes += b.size;
  }
  return { buffers: n, bytes };
}

export function buildSnapshot(scan: ProcScan, options: SnapshotOptions = {}): Snapshot {
  const bufinfo = Array.isArray(scan.bufinfo) ? new Map<number, BufinfoEntry>(scan.bufinfo.map((b) => [b.ino, b])) : undefined;
  interface Acc {
    inode: number;
    fdinfo?: { size: number; exporter: string; name?: string; count: number };
    mapName?: string;
    mapEnd: number;
    holders: Map<number, Holder>;
  }
  const acc = new Map<number, Acc>();
  const get = (ino: number) => {
    let a = acc.get(ino);
    if (!a) acc.set(ino, (a = { inode: ino, mapEnd: 0, holders: new Map() }));
    return a;
  };
  const holder = (a: Acc, pid: number) => {
    let h = a.holders.get(pid);
    if (!h) a.holders.set(pid, (h = { pid, how: 'fd', fds: [], mappings: 0, mappedBytes: 0 }));
    return h;
  };
  for (const p of scan.processes) {
    for (const { fd, info } of p.fds) {
      const a = get(info.ino);
      // The highest count seen: reads of different processes' fds happen at slightly different times.
      if (!a.fdinfo || info.count > a.fdinfo.count) a.fdinfo = { size: info.size, exporter: info.exporter, count: info.count, ...(info.name !== undefined ? { name: info.name } : {}) };
      holder(a, p.pid).fds.push(fd);
    }
    for (const m of p.maps) {
      const a = get(m.ino);
      a.mapName ??= m.name;
      a.mapEnd = Math.max(a.mapEnd, m.offset + m.length);
      const h = holder(a, p.pid);
      h.mappings++;
      h.mappedBytes += m.length;
    }
  }
  const buffers = new Map<number, BufferEntry>();
  for (const a of acc.values()) {
    const holders = [...a.holders.values()].sort((x, y) => x.pid - y.pid);
    for (const h of holders) {
      h.fds.sort(byNumber);
      h.how = h.fds.length && h.mappings ? 'both' : h.fds.length ? 'fd' : 'mapping';
    }
    const dbg = bufinfo?.get(a.inode);
    const entry: BufferEntry = a.fdinfo
      ? { inode: a.inode, exporter: a.fdinfo.exporter, name: a.fdinfo.name ?? null, size: a.fdinfo.size, sizeFrom: 'fdinfo', refs: a.fdinfo.count, attachments: null, holders }
      : dbg
        ? { inode: a.inode, exporter: dbg.exporter, name: dbg.name ?? null, size: dbg.size, sizeFrom: 'bufinfo', refs: dbg.count, attachments: null, holders }
        : { inode: a.inode, exporter: null, name: a.mapName || null, size: a.mapEnd, sizeFrom: 'maps', refs: null, attachments: null, holders };
    if (dbg) entry.attachments = dbg.attachments;
    buffers.set(a.inode, entry);
  }

  const wanted = options.pids ? new Set(options.pids) : undefined;
  const shown = (pid: number) => !wanted || wanted.has(pid);
  const processes: ProcessEntry[] = [];
  for (const p of scan.processes) {
    if (!shown(p.pid)) continue;
    const mine: ProcessBuffer[] = [];
    for (const b of buffers.values()) {
      const h = b.holders.find((x) => x.pid === p.pid);
      if (!h) continue;
      mine.push({
        inode: b.inode,
        exporter: b.exporter,
        name: b.name,
        size: b.size,
        ...h,
        sharedWith: b.holders.filter((x) => x.pid !== p.pid).map((x) => x.pid),
      });
    }
    if (mine.length === 0 && !wanted) continue;
    mine.sort((x, y) => x.inode - y.inode);
    processes.push({ pid: p.pid, command: p.command, uid: p.uid ?? null, buffers: mine, totals: sum(mine) });
  }
  processes.sort((x, y) => x.pid - y.pid);

  const listed = [...buffers.values()].filter((b) => b.holders.some((h) => shown(h.pid))).sort((x, y) => x.inode - y.inode);
  const exporters = new Map<string | null, ExporterTotals>();
  for (const b of listed) {
    const t = exporters.get(b.exporter) ?? { exporter: b.exporter, buffers: 0, bytes: 0 };
    t.buffers++;
    t.bytes += b.size;
    exporters.set(b.exporter, t);
  }
  const byExporter = [...exporters.values()].sort((x, y) => y.bytes - x.bytes || String(x.exporter).localeCompare(String(y.exporter)));

  const unattributed =
    bufinfo && !wanted
      ? [...bufinfo.values()]
          .filter((b) => !buffers.has(b.ino))
          .sort((x, y) => x.ino - y.ino)
          .map((b) => ({ inode: b.ino, exporter: b.exporter, name: b.name ?? null, size: b.size, refs: b.count, attachments: b.attachments }))
      : null;

  const seen = new Set([...scan.processes.map((p) => p.pid), ...scan.unreadable.map((p) => p.pid)]);
  return {
    buffers: listed,
    processes,
    unreadable: scan.unreadable.filter((u) => shown(u.pid)).map((u) => ({ ...u, uid: u.uid ?? null })).sort((x, y) => x.pid - y.pid),
    missing: options.pids ? [...new Set(options.pids)].filter((p) => !seen.has(p)).sort(byNumber) : [],
    unattributed,
    totals: {
      ...sum(listed),
      shared: listed.filter((b) => b.holders.length > 1).length,
      byExporter,
      unattributed: unattributed ? sum(unattributed) : null,
    },
    sources: { bufinfo: Array.isArray(scan.bufinfo) ? 'read' : scan.bufinfo.error, vanished: scan.vanished },
  };
}
