// `dmaheap ls` and `ls --watch` as text: aligned tables, sizes in binary units.
import type { Changes } from './diff.js';
import { formatBytes, formatCountDelta, formatDelta, type Style } from './format.js';
import type { Holder, ProcessBuffer, Snapshot } from './model.js';
import { renderTable, type Cell, type Column } from './table.js';

export interface RenderOptions {
  style: Style;
  /** uid -> user name, for the unreadable list. */
  users?: ReadonlyMap<number, string>;
}

const COMMAND_WIDTH = 56;
/** Rows of new or gone buffers a --watch refresh lists (the rest are counted). */
const WATCH_ROWS = 10;

/** A command line for a table: its program without the directory (`/usr/bin/node x.mjs` -> `node x.mjs`). */
export function shortCommand(command: string): string {
  return command.replace(/^\/(?:[^\s/]*\/)*/, '');
}

/** `fd 3`, `fds 3,4`, `mapped`, `mapped 8 KiB`, `fd 3 + mapped`. */
export function heldAs(h: Holder, size: number): string {
  const parts: string[] = [];
  if (h.fds.length) parts.push(`${h.fds.length > 1 ? 'fds' : 'fd'} ${h.fds.join(',')}`);
  if (h.mappings) {
    const whole = h.mappings === 1 && h.mappedBytes === size;
    parts.push(whole ? 'mapped' : `mapped ${formatBytes(h.mappedBytes)}${h.mappings > 1 ? ` in ${h.mappings}` : ''}`);
  }
  return parts.join(' + ');
}

/** Buffers of one process alike (exporter, name, size, how held, by no one else) this many in a row share a row. */
const RUN = 3;

function alike(x: ProcessBuffer, y: ProcessBuffer): boolean {
  return (
    x.exporter === y.exporter &&
    x.name === y.name &&
    x.size === y.size &&
    x.how === y.how &&
    x.fds.length === y.fds.length &&
    x.mappings === y.mappings &&
    x.mappedBytes === y.mappedBytes &&
    x.sharedWith.length === 0 &&
    y.sharedWith.length === 0
  );
}

/** A process's buffers (by inode) cut into runs of alike ones; runs shorter than RUN split into single rows. */
export function runsOf(buffers: readonly ProcessBuffer[]): ProcessBuffer[][] {
  const runs: ProcessBuffer[][] = [];
  for (const b of buffers) {
    const last = runs[runs.length - 1];
    if (last && alike(last[0]!, b)) last.push(b);
    else runs.push([b]);
  }
  return runs.flatMap((r) => (r.length >= RUN ? [r] : r.map((b) => [b])));
}

/** How a run of alike buffers is held: `fds 19..145` when the fds follow each other, else `127 fds`. */
function heldAsRun(run: readonly ProcessBuffer[]): string {
  const b = run[0]!;
  const parts: string[] = [];
  if (b.fds.length) {
    const fds = run.flatMap((x) => x.fds);
    const consecutive = fds.every((fd, i) => i === 0 || fd === fds[i - 1]! + 1);
    parts.push(consecutive ? `fds ${fds[0]}..${fds[fds.length - 1]}` : `${fds.length} fds`);
  }
  if (b.mappings) parts.push(b.mappings === 1 && b.mappedBytes === b.size ? 'mapped' : `mapped ${formatBytes(b.mappedBytes)} each`);
  return parts.join(' + ');
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const sizeText = (size: number, from: string) => (from === 'maps' ? `≥${formatBytes(size)}` : formatBytes(size));
const userOf = (uid: number | null, users?: ReadonlyMap<number, string>) => (uid === null ? '?' : (users?.get(uid) ?? String(uid)));

export function renderLs(s: Snapshot, { style, users }: RenderOptions): string {
  const out: string[] = [];
  if (s.processes.length === 0) {
    out.push(s.unreadable.length ? 'No dma-bufs in the processes this user can read.' : 'No process holds a dma-buf.');
  } else {
    const columns: Column[] = [
      { header: 'PID', align: 'right' },
      { header: 'COMMAND', max: COMMAND_WIDTH },
      { header: 'INODE', align: 'right' },
      { header: 'EXPORTER' },
      { header: 'NAME', max: 32 },
      { header: 'SIZE', align: 'right' },
      { header: 'HELD AS' },
      { header: 'ALSO HELD BY' },
    ];
    const rows: Cell[][] = [];
    const groupEnds: Array<{ row: number; text: string }> = [];
    const sizeFrom = new Map(s.buffers.map((b) => [b.inode, b.sizeFrom]));
    for (const p of s.processes) {
      if (p.buffers.length === 0) rows.push([String(p.pid), shortCommand(p.command), '', { text: 'none', style: 'dim' }]);
      runsOf(p.buffers).forEach((run, i) => {
        const b = run[0]!;
        const last = run[run.length - 1]!;
        const from = sizeFrom.get(b.inode) ?? 'fdinfo';
        rows.push([
          i === 0 ? { text: String(p.pid), style: 'bold' } : '',
          i === 0 ? shortCommand(p.command) : '',
          run.length > 1 ? `${b.inode}..${last.inode}` : String(b.inode),
          b.exporter ?? { text: '?', style: 'dim' },
          b.name ?? { text: '-', style: 'dim' },
          run.length > 1 ? `${run.length} × ${sizeText(b.size, from)}` : sizeText(b.size, from),
          run.length > 1 ? heldAsRun(run) : heldAs(b, b.size),
          b.sharedWith.length ? { text: b.sharedWith.join(' '), style: 'cyan' } : '',
        ]);
      });
      if (p.buffers.length > 1) groupEnds.push({ row: rows.length, text: `= ${plural(p.totals.buffers, 'buffer')}, ${formatBytes(p.totals.bytes)}` });
    }
    const lines = renderTable(columns, rows, { style });
    // Each process's total under its rows, in the COMMAND column.
    const indent = ' '.repeat(Math.max(3, ...s.processes.map((p) => String(p.pid).length)) + 2);
    for (const g of groupEnds.reverse()) lines.splice(g.row + 1, 0, style.dim(indent + g.text));
    out.push(...lines);
    out.push('');
    out.push(style.bold('By exporter'));
    out.push(
      ...renderTable(
        [{ header: 'EXPORTER' }, { header: 'BUFFERS', align: 'right' }, { header: 'SIZE', align: 'right' }],
        s.totals.byExporter.map((e) => [e.exporter ?? '? (only mapped)', String(e.buffers), formatBytes(e.bytes)]),
        { style },
      ),
    );
    out.push('');
    const shared = s.totals.shared ? `; ${plural(s.totals.shared, 'buffer')} held by more than one process, counted once` : '';
    out.push(`${style.bold('Total')}: ${plural(s.totals.buffers, 'buffer')}, ${formatBytes(s.totals.bytes)}${shared}`);
    if (s.buffers.some((b) => b.sizeFrom === 'maps')) {
      out.push(style.dim('≥: a buffer only mapped, its fd closed everywhere: its size is where its furthest mapping ends (root with debugfs mounted shows the real size)'));
    }
  }
  if (s.unattributed?.length) {
    out.push('');
    out.push(style.bold(`Held by no process read here (debugfs): ${plural(s.unattributed.length, 'buffer')}, ${formatBytes(s.totals.unattributed!.bytes)}`));
    out.push(
      ...renderTable(
        [{ header: 'INODE', align: 'right' }, { header: 'EXPORTER' }, { header: 'NAME' }, { header: 'SIZE', align: 'right' }, { header: 'REFS', align: 'right' }, { header: 'DEVICES', align: 'right' }],
        s.unattributed.map((b) => [String(b.inode), b.exporter, b.name ?? '-', formatBytes(b.size), String(b.refs), String(b.attachments)]),
        { style },
      ),
    );
  }
  if (s.unreadable.length) {
    out.push('');
    out.push(style.yellow(`Unreadable: ${plural(s.unreadable.length, 'process', 'processes')} this user may not read (their buffers are not counted above; root sees them)`));
    out.push(
      ...renderTable(
        [{ header: 'PID', align: 'right' }, { header: 'USER' }, { header: 'COMMAND', max: COMMAND_WIDTH }, { header: 'ERROR' }],
        s.unreadable.map((u) => [String(u.pid), userOf(u.uid, users), shortCommand(u.command), `${u.error} (${u.what})`]),
        { style },
      ),
    );
  }
  if (s.missing.length) {
    out.push('');
    out.push(style.red(`No such process: ${s.missing.join(' ')}`));
  }
  return out.join('\n') + '\n';
}

export interface WatchFrame {
  refresh: number;
  /** Refreshes in all (0: until interrupted). */
  count: number;
  intervalMs: number;
  time: Date;
  snapshot: Snapshot;
  /** Against the previous refresh; null on the first. */
  changes: Changes | null;
  /** Against the first refresh; null on the first. */
  sinceStart: Changes | null;
}

/** One refresh of `ls --watch`: per-process totals with what changed, then the buffers that came and went. */
export function renderWatch(f: WatchFrame, { style, users }: RenderOptions): string {
  const s = f.snapshot;
  const grow = (n: number, text: string): Cell => (n > 0 ? { text, style: 'red' } : n < 0 ? { text, style: 'green' } : { text, style: 'dim' });
  const out: string[] = [];
  const of = f.count ? `/${f.count}` : '';
  out.push(style.bold(`dmaheap ls --watch: refresh ${f.refresh}${of} at ${f.time.toTimeString().slice(0, 8)}, every ${f.intervalMs} ms`));
  const last = new Map((f.changes?.processes ?? []).map((p) => [p.pid, p]));
  const start = new Map((f.sinceStart?.processes ?? []).map((p) => [p.pid, p]));
  const rows: Cell[][] = s.processes.map((p) => {
    const l = last.get(p.pid);
    const st = start.get(p.pid);
    return [
      String(p.pid),
      shortCommand(p.command),
      String(p.totals.buffers),
      formatBytes(p.totals.bytes),
      f.changes ? grow(l?.bytes.delta ?? 0, `${formatCountDelta(l?.buffers.delta ?? 0)} ${formatDelta(l?.bytes.delta ?? 0)}`) : '',
      f.sinceStart ? grow(st?.bytes.delta ?? 0, `${formatCountDelta(st?.buffers.delta ?? 0)} ${formatDelta(st?.bytes.delta ?? 0)}`) : '',
    ];
  });
  // Processes that let go of everything since the last refresh.
  for (const p of f.changes?.processes ?? []) {
    if (p.buffers.after === 0) rows.push([String(p.pid), shortCommand(p.command), '0', '0 B', grow(p.bytes.delta, `${formatCountDelta(p.buffers.delta)} ${formatDelta(p.bytes.delta)}`), '']);
  }
  if (rows.length) {
    out.push(
      ...renderTable(
        [
          { header: 'PID', align: 'right' },
          { header: 'COMMAND', max: COMMAND_WIDTH },
          { header: 'BUFFERS', align: 'right' },
          { header: 'SIZE', align: 'right' },
          { header: 'SINCE LAST', align: 'right' },
          { header: 'SINCE START', align: 'right' },
        ],
        rows,
        { style },
      ),
    );
  } else {
    out.push('No process holds a dma-buf.');
  }
  const c = f.changes;
  const delta = c ? ` (${formatCountDelta(c.buffers.delta)} buffers, ${formatDelta(c.bytes.delta)} since the last refresh)` : '';
  out.push(`${style.bold('Total')}: ${plural(s.totals.buffers, 'buffer')}, ${formatBytes(s.totals.bytes)}${delta}`);
  const list = (title: string, items: Changes['added']) => {
    if (!items.length) return;
    out.push(title);
    out.push(
      ...renderTable(
        [{ header: 'INODE', align: 'right' }, { header: 'EXPORTER' }, { header: 'NAME' }, { header: 'SIZE', align: 'right' }, { header: 'HELD BY' }],
        items.slice(0, WATCH_ROWS).map((b) => [String(b.inode), b.exporter ?? '?', b.name ?? '-', formatBytes(b.size), b.pids.join(' ')]),
        { style, indent: '  ' },
      ),
    );
    if (items.length > WATCH_ROWS) out.push(style.dim(`  ... and ${items.length - WATCH_ROWS} more`));
  };
  if (c) {
    list(`New since the last refresh: ${plural(c.added.length, 'buffer')}, ${formatBytes(c.added.reduce((n, b) => n + b.size, 0))}`, c.added);
    list(`Gone since the last refresh: ${plural(c.removed.length, 'buffer')}, ${formatBytes(c.removed.reduce((n, b) => n + b.size, 0))}`, c.removed);
  }
  if (s.unreadable.length) {
    const some = s.unreadable.slice(0, 8).map((u) => `${u.pid} (${userOf(u.uid, users)})`);
    const more = s.unreadable.length > some.length ? `, and ${s.unreadable.length - some.length} more` : '';
    out.push(style.yellow(`Unreadable: ${plural(s.unreadable.length, 'process', 'processes')} this user may not read: ${some.join(', ')}${more}`));
  }
  if (s.missing.length) out.push(style.red(`No such process: ${s.missing.join(' ')}`));
  return out.join('\n') + '\n';
}
