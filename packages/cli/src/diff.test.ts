// What --watch reports between two readings of a FAKE /proc: a process leaking buffers comes first.
import { describe, expect, it } from 'vitest';
import { diffSnapshots } from './diff.js';
import { FakeProc, fakeFdinfo, type FakeProcess } from './fake-proc.test-helpers.js';
import { buildSnapshot } from './model.js';
import { scanProc } from './scan.js';

const holding = (pid: number, buffers: Array<[ino: number, size: number]>): FakeProcess => ({
  pid,
  maps: '',
  fds: Object.fromEntries(buffers.map(([ino, size], i) => [10 + i, { link: '/dmabuf:leak', fdinfo: fakeFdinfo({ ino, size, name: 'leak' }) }])),
});
const snap = (...p: FakeProcess[]) => buildSnapshot(scanProc({ reader: new FakeProc(p) }));

describe('diffSnapshots', () => {
  it('names the buffers that appeared and went, and each process that changed, largest growth first', () => {
    const before = snap(holding(10, [[1, 4096]]), holding(20, [[2, 65536], [3, 65536]]), holding(30, [[4, 8192]]));
    const after = snap(holding(10, [[1, 4096], [5, 65536], [6, 65536]]), holding(20, [[2, 65536]]), holding(30, [[4, 8192]]), holding(40, [[7, 4096]]));
    const c = diffSnapshots(before, after);
    expect(c.buffers).toEqual({ before: 4, after: 6, delta: 2 });
    expect(c.bytes).toEqual({ before: 4096 + 2 * 65536 + 8192, after: 4096 + 3 * 65536 + 8192 + 4096, delta: 65536 + 4096 });
    expect(c.added).toEqual([
      { inode: 5, exporter: 'system', name: 'leak', size: 65536, pids: [10] },
      { inode: 6, exporter: 'system', name: 'leak', size: 65536, pids: [10] },
      { inode: 7, exporter: 'system', name: 'leak', size: 4096, pids: [40] },
    ]);
    expect(c.removed).toEqual([{ inode: 3, exporter: 'system', name: 'leak', size: 65536, pids: [20] }]);
    expect(c.processes.map((p) => [p.pid, p.buffers.delta, p.bytes.delta])).toEqual([
      [10, 2, 131072],
      [40, 1, 4096],
      [20, -1, -65536],
    ]);
  });

  it('a process that exited goes to zero', () => {
    const c = diffSnapshots(snap(holding(10, [[1, 4096]])), snap());
    expect(c.processes).toEqual([{ pid: 10, command: 'node child-10.mjs', buffers: { before: 1, after: 0, delta: -1 }, bytes: { before: 4096, after: 0, delta: -4096 } }]);
  });

  it('is empty when nothing changed', () => {
    const s = snap(holding(10, [[1, 4096]]));
    expect(diffSnapshots(s, s)).toMatchObject({ added: [], removed: [], processes: [], bytes: { delta: 0 } });
  });
});
