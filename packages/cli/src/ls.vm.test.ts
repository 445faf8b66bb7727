// `dmaheap ls` against the real kernel (Debian's 6.12 in the VM): processes holding known buffers (Node
// children and a C helper), some shared between processes, some only mapped after their fd was closed, some
// named, one process of another user; the JSON must match what the children say they hold exactly (inodes
// from fstat, sizes, names, fds, mappings, references, byte totals); as nobody the root processes are
// unreadable; --watch shows a process leaking buffers.
// Run: node tools/vm/dist/cli.js --test-setup -- node node_modules/vitest/vitest.mjs run --project vm packages/cli/src/ls.vm.test.ts
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufSetName, closeFd, heapAlloc, openDevice } from '@dmaheap/native';
import type { BufferEntry, Holder as HolderEntry, ProcessEntry, Snapshot } from './index.js';
import { compileHolder, dmaheap, HOLDER_MJS, NOBODY, startHolder, type HeldBuffer, type Holder } from './vm.test-helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;

interface Known {
  exporter: string;
  name: string | null;
}

let c: Holder; // the C helper
let a: Holder; // Node, its own buffers and the shared one, fd + mapping
let b: Holder; // Node, the shared one only mapped
let n: Holder; // Node as nobody, a buffer of its own user
const shared = { ino: 0, size: MiB, name: 'shared-frame' };
const nobodys = { ino: 0, size: 256 * KiB, name: 'nobody-frame' };
const known = new Map<number, Known>();

beforeAll(async () => {
  const cc = compileHolder();
  // The test makes the shared buffers, hands them to the children as their fd 3, and closes its own fds.
  const heap = openDevice('/dev/dma_heap/system');
  const s1 = heapAlloc(heap, shared.size);
  bufSetName(s1, shared.name);
  const s2 = heapAlloc(heap, nobodys.size);
  bufSetName(s2, nobodys.name);
  closeFd(heap);
  try {
    c = await startHolder([cc, 'alloc:262144:c-helper:both', 'alloc:32768:-:map', 'alloc:8192:c-fd:fd:1', 'inherit:3:fd'], { fd3: s1 });
    a = await startHolder([process.execPath, HOLDER_MJS, 'alloc:65536:a-named:fd', 'alloc:131072:-:map', 'udmabuf:2097152:a-udmabuf:both', 'inherit:3:both'], { fd3: s1 });
    b = await startHolder([process.execPath, HOLDER_MJS, 'inherit:3:map'], { fd3: s1 });
    n = await startHolder([process.execPath, HOLDER_MJS, 'inherit:3:both'], { fd3: s2, uid: NOBODY });
  } finally {
    closeFd(s1);
    closeFd(s2);
  }
  shared.ino = b.buffers[0]!.ino;
  nobodys.ino = n.buffers[0]!.ino;
  known.set(shared.ino, { exporter: 'system', name: shared.name });
  known.set(nobodys.ino, { exporter: 'system', name: nobodys.name });
  for (const buf of [...c.buffers, ...a.buffers]) if (!known.has(buf.ino)) known.set(buf.ino, { exporter: buf.name === 'a-udmabuf' ? 'udmabuf' : 'system', name: buf.name });
}, 120_000);

afterAll(async () => {
  await Promise.all([c, a, b, n].filter(Boolean).map((h) => h.stop()));
});

/**
 * What `ls --json --pid ...` must say for these holders: built from what each child reported (fstat inodes,
 * the sizes it asked for, its fds and mappings), not from /proc. `debugfs`: bufinfo was readable, so buffers
 * only mapped have their exporter and size from it.
 */
function expected(holders: Holder[], debugfs: boolean): Pick<Snapshot, 'buffers' | 'processes' | 'totals'> {
  const byIno = new Map<number, Array<{ pid: number; held: HeldBuffer }>>();
  for (const h of holders) for (const held of h.buffers) byIno.set(held.ino, [...(byIno.get(held.ino) ?? []), { pid: h.pid, held }]);
  const buffers: BufferEntry[] = [...byIno.entries()]
    .sort(([x], [y]) => x - y)
    .map(([ino, hs]) => {
      const k = known.get(ino)!;
      const size = hs[0]!.held.size;
      const withFd = hs.some((h) => h.held.fds.length > 0);
      const refs = hs.reduce((r, h) => r + h.held.fds.length + h.held.mappings, 0);
      const holdersOf: HolderEntry[] = hs
        .map(({ pid, held }) => ({
          pid,
          how: held.fds.length && held.mappings ? ('both' as const) : held.fds.length ? ('fd' as const) : ('mapping' as const),
          fds: [...held.fds].sort((x, y) => x - y),
          mappings: held.mappings,
          mappedBytes: held.mappedBytes,
        }))
        .sort((x, y) => x.pid - y.pid);
      return {
        inode: ino,
        exporter: withFd || debugfs ? k.exporter : null,
        name: k.name,
        size,
        sizeFrom: withFd ? 'fdinfo' : debugfs ? 'bufinfo' : 'maps',
        refs: withFd || debugfs ? refs : null,
        attachments: debugfs ? 0 : null,
        holders: holdersOf,
      };
    });
  const processes: ProcessEntry[] = [...holders]
    .sort((x, y) => x.pid - y.pid)
    .map((h) => {
      const mine = buffers
        .filter((buf) => buf.holders.some((x) => x.pid === h.pid))
        .map((buf) => ({
          inode: buf.inode,
          exporter: buf.exporter,
          name: buf.name,
          size: buf.size,
          ...buf.holders.find((x) => x.pid === h.pid)!,
          sharedWith: buf.holders.filter((x) => x.pid !== h.pid).map((x) => x.pid),
        }));
      return { pid: h.pid, command: h.command, uid: h === n ? NOBODY : 0, buffers: mine, totals: { buffers: mine.length, bytes: mine.reduce((s, x) => s + x.size, 0) } };
    });
  const exporters = new Map<string | null, { exporter: string | null; buffers: number; bytes: number }>();
  for (const buf of buffers) {
    const e = exporters.get(buf.exporter) ?? { exporter: buf.exporter, buffers: 0, bytes: 0 };
    e.buffers++;
    e.bytes += buf.size;
    exporters.set(buf.exporter, e);
  }
  return {
    buffers,
    processes,
    totals: {
      buffers: buffers.length,
      bytes: buffers.reduce((s, x) => s + x.size, 0),
      shared: buffers.filter((x) => x.holders.length > 1).length,
      byExporter: [...exporters.values()].sort((x, y) => y.bytes - x.bytes || String(x.exporter).localeCompare(String(y.exporter))),
      unattributed: null,
    },
  };
}

const pids = (...hs: Holder[]) => hs.flatMap((h) => ['--pid', String(h.pid)]);

describe('dmaheap ls (root)', () => {
  it('the children hold what they were asked to (the ground truth the listing is compared with)', () => {
    expect(c.buffers.map((x) => [x.size, x.name, x.fds.length, x.mappings])).toEqual([
      [256 * KiB, 'c-helper', 1, 1],
      [32 * KiB, null, 0, 1],
      [8 * KiB, 'c-fd', 2, 0],
      [MiB, null, 1, 0],
    ]);
    expect(a.buffers.map((x) => [x.size, x.name, x.fds.length, x.mappings])).toEqual([
      [64 * KiB, 'a-named', 1, 0],
      [128 * KiB, null, 0, 1],
      [2 * MiB, 'a-udmabuf', 1, 1],
      [MiB, null, 1, 1],
    ]);
    expect(new Set([c.buffers[3]!.ino, a.buffers[3]!.ino, b.buffers[0]!.ino]).size).toBe(1);
  });

  it('--json matches every buffer, holder, fd, mapping and total exactly', async () => {
    const r = await dmaheap(['ls', '--json', ...pids(c, a, b)]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as Snapshot;
    const want = expected([c, a, b], false);
    expect(s.buffers).toEqual(want.buffers);
    expect(s.processes).toEqual(want.processes);
    expect(s.totals).toEqual(want.totals);
    // The numbers, spelled out: 7 buffers, the shared one once.
    expect(s.totals).toMatchObject({ buffers: 7, bytes: MiB + 256 * KiB + 32 * KiB + 8 * KiB + 64 * KiB + 128 * KiB + 2 * MiB, shared: 1 });
    expect(s.totals.byExporter).toEqual([
      { exporter: 'udmabuf', buffers: 1, bytes: 2 * MiB },
      { exporter: 'system', buffers: 4, bytes: MiB + 256 * KiB + 8 * KiB + 64 * KiB },
      { exporter: null, buffers: 2, bytes: 160 * KiB },
    ]);
    expect(s.buffers.find((x) => x.inode === shared.ino)).toMatchObject({ name: 'shared-frame', refs: 4, holders: [{ how: 'fd' }, { how: 'both' }, { how: 'mapping' }] });
    expect(s).toMatchObject({ unreadable: [], missing: [], unattributed: null, sources: { bufinfo: 'ENOENT' } });
  });

  it('with debugfs mounted (root): buffers only mapped get their exporter and size from bufinfo', async () => {
    const r = await dmaheap(['ls', '--json', ...pids(c, a, b)], { debugfs: true });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as Snapshot;
    const want = expected([c, a, b], true);
    expect(s.buffers).toEqual(want.buffers);
    expect(s.totals).toEqual(want.totals);
    expect(s.totals.byExporter).toEqual([
      { exporter: 'udmabuf', buffers: 1, bytes: 2 * MiB },
      { exporter: 'system', buffers: 6, bytes: MiB + 256 * KiB + 32 * KiB + 8 * KiB + 64 * KiB + 128 * KiB },
    ]);
    expect(s.sources.bufinfo).toBe('read');
  });

  it('without --pid lists every holder, the nobody-owned one too, and all its processes read', async () => {
    const r = await dmaheap(['ls', '--json']);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as Snapshot;
    for (const h of [c, a, b, n]) expect(s.processes.map((p) => p.pid)).toContain(h.pid);
    expect(s.processes.find((p) => p.pid === n.pid)).toEqual(expected([n], false).processes[0]);
    expect(s.unreadable).toEqual([]);
  });

  it('prints a table (captured for the README)', async () => {
    const r = await dmaheap(['ls', ...pids(c, a, b, n)]);
    expect(r.status).toBe(0);
    console.log(`[ls] dmaheap ls --pid ${c.pid} --pid ${a.pid} --pid ${b.pid} --pid ${n.pid}\n${r.stdout}`);
    for (const h of [c, a, b, n]) expect(r.stdout).toMatch(new RegExp(`^ *${h.pid} +(node|holder-)`, "m"));
    expect(r.stdout).toMatch(/ a-named +64 KiB +fd \d+$/m);
    expect(r.stdout).toMatch(/ shared-frame +1 MiB +mapped +\d+ \d+$/m);
    expect(r.stdout).toMatch(/ +\? +- +≥32 KiB +mapped$/m);
    expect(r.stdout).toMatch(/^Total: 8 buffers, 3\.7 MiB; 1 buffer held by more than one process, counted once$/m);
    expect(r.stdout).not.toContain('\x1b[');
  });
});

describe('dmaheap ls as nobody', () => {
  it('lists its own process, and every root process it may not read as unreadable (exit 3); debugfs refused', async () => {
    const r = await dmaheap(['ls', '--json', ...pids(n, c, a, b)], { uid: NOBODY, debugfs: true });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    const s = JSON.parse(r.stdout) as Snapshot;
    const want = expected([n], false);
    expect(s.processes).toEqual(want.processes);
    expect(s.buffers).toEqual(want.buffers);
    expect(s.totals).toEqual(want.totals);
    expect(s.unreadable).toEqual(
      [c, a, b].sort((x, y) => x.pid - y.pid).map((h) => ({ pid: h.pid, command: h.command, uid: 0, error: 'EACCES', what: 'fd' })),
    );
    expect(s.sources.bufinfo).toBe('EACCES');
  });

  it('without --pid: init and the kernel threads are unreadable too, never left out', async () => {
    const r = await dmaheap(['ls', '--json'], { uid: NOBODY });
    expect(r.status).toBe(3);
    const s = JSON.parse(r.stdout) as Snapshot;
    expect(s.processes.map((p) => p.pid)).toContain(n.pid);
    const unreadable = s.unreadable.map((u) => u.pid);
    for (const pid of [1, 2, c.pid, a.pid, b.pid]) expect(unreadable).toContain(pid);
    expect(s.unreadable.find((u) => u.pid === 2)?.command).toMatch(/^\[kthreadd\]$/);
    const text = await dmaheap(['ls', ...pids(n, a)], { uid: NOBODY });
    console.log(`[ls] as nobody: dmaheap ls --pid ${n.pid} --pid ${a.pid}\n${text.stdout}`);
    expect(text.stdout).toMatch(/^Unreadable: 1 process this user may not read/m);
  });
});

describe('dmaheap ls --watch', () => {
  let leaker: Holder;
  beforeAll(async () => {
    leaker = await startHolder([process.execPath, HOLDER_MJS, 'leak:65536:leak:100']);
  });
  afterAll(() => leaker?.stop());

  it('shows a process leaking buffers: every refresh adds its new buffers, since the start it only grows', async () => {
    const r = await dmaheap(['ls', '--watch', '--interval', '600', '--count', '3', '--json', '--pid', String(leaker.pid)]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const frames = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Snapshot & { refresh: number; changes: any; sinceStart: any });
    expect(frames.map((f) => f.refresh)).toEqual([1, 2, 3]);
    const counts = frames.map((f) => f.totals.buffers);
    console.log(`[watch] leaker ${leaker.pid}: buffers at each refresh ${counts.join(', ')}`);
    expect(counts[1]!).toBeGreaterThan(counts[0]!);
    expect(counts[2]!).toBeGreaterThan(counts[1]!);
    for (const f of frames.slice(1)) {
      expect(f.changes.added.length).toBeGreaterThan(0);
      expect(f.changes.removed).toEqual([]);
      for (const added of f.changes.added) expect(added).toMatchObject({ exporter: 'system', name: 'leak', size: 65536, pids: [leaker.pid] });
      expect(f.changes.bytes.delta).toBe(65536 * f.changes.added.length);
      expect(f.changes.processes).toEqual([expect.objectContaining({ pid: leaker.pid, buffers: expect.objectContaining({ delta: f.changes.added.length }) })]);
    }
    expect(frames[2]!.sinceStart.bytes.delta).toBe(frames[2]!.totals.bytes - frames[0]!.totals.bytes);
    // Every buffer it lists is one the leaker says it holds.
    const held = new Set((await leaker.report()).map((x) => x.ino));
    for (const buf of frames[2]!.buffers) expect(held.has(buf.inode)).toBe(true);
  });

  it("as text: the leaker's growth since the last refresh and since the start, and its new buffers", async () => {
    const r = await dmaheap(['ls', '--watch', '--interval', '600', '--count', '2', '--pid', String(leaker.pid)]);
    expect(r.status).toBe(0);
    console.log(`[watch] dmaheap ls --watch --interval 600 --count 2 --pid ${leaker.pid}\n${r.stdout}`);
    expect(r.stdout).toMatch(/refresh 1\/2 at .*\n[\s\S]*refresh 2\/2 at /);
    expect(r.stdout).toMatch(new RegExp(`^ *${leaker.pid} .* \\+\\d+ \\+\\d+(\\.\\d)? [KM]iB +\\+\\d+ \\+\\d+(\\.\\d)? [KM]iB$`, 'm'));
    expect(r.stdout).toMatch(/New since the last refresh: \d+ buffers?, /);
  });
});
