// What changed between two snapshots, for `ls --watch`: buffers that appeared and went, and each process whose
// buffers or bytes changed, largest growth first, so a leak stands out.
import type { Snapshot } from './model.js';

export interface BufferChange {
  inode: number;
  exporter: string | null;
  name: string | null;
  size: number;
  /** Holders in the snapshot where it is present. */
  pids: number[];
}

export interface ProcessChange {
  pid: number;
  command: string;
  buffers: { before: number; after: number; delta: number };
  bytes: { before: number; after: number; delta: number };
}

export interface Changes {
  buffers: { before: number; after: number; delta: number };
  bytes: { before: number; after: number; delta: number };
  /** New buffers (inodes not in the earlier snapshot). */
  added: BufferChange[];
  /** Buffers gone (freed, or no longer held by a listed process). */
  removed: BufferChange[];
  /** Processes whose buffers changed (a new pid counts from 0; an exited one goes to 0). */
  processes: ProcessChange[];
}

const change = (before: number, after: number) => ({ before, after, delta: after - before });

export function diffSnapshots(before: Snapshot, after: Snapshot): Changes {
  const was = new Map(before.buffers.map((b) => [b.inode, b]));
  const now = new Map(after.buffers.map((b) => [b.inode, b]));
  const brief = (b: Snapshot['buffers'][number]): BufferChange => ({
    inode: b.inode,
    exporter: b.exporter,
    name: b.name,
    size: b.size,
    pids: b.holders.map((h) => h.pid),
  });
  const procsBefore = new Map(before.processes.map((p) => [p.pid, p]));
  const procsAfter = new Map(after.processes.map((p) => [p.pid, p]));
  const processes: ProcessChange[] = [];
  for (const pid of new Set([...procsBefore.keys(), ...procsAfter.keys()])) {
    const b = procsBefore.get(pid);
    const a = procsAfter.get(pid);
    const c: ProcessChange = {
      pid,
      command: (a ?? b)!.command,
      buffers: change(b?.totals.buffers ?? 0, a?.totals.buffers ?? 0),
      bytes: change(b?.totals.bytes ?? 0, a?.totals.bytes ?? 0),
    };
    if (c.buffers.delta !== 0 || c.bytes.delta !== 0) processes.push(c);
  }
  processes.sort((x, y) => y.bytes.delta - x.bytes.delta || y.buffers.delta - x.buffers.delta || x.pid - y.pid);
  return {
    buffers: change(before.totals.buffers, after.totals.buffers),
    bytes: change(before.totals.bytes, after.totals.bytes),
    added: after.buffers.filter((b) => !was.has(b.inode)).map(brief),
    removed: before.buffers.filter((b) => !now.has(b.inode)).map(brief),
    processes,
  };
}
