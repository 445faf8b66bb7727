// Grouping a FAKE /proc's dma-bufs: each buffer once (by inode) with every holder and how it holds it, per
// process totals, per exporter totals, sizes of buffers only mapped, --pid selection, debugfs' extra buffers.
import { describe, expect, it } from 'vitest';
import { FakeProc, fakeBufinfo, fakeFdinfo, fakeMapsLine } from './fake-proc.test-helpers.js';
import { buildSnapshot } from './model.js';
import { scanProc } from './scan.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * FAKE system: inode 1 (1 MiB, "shared") held by 100 as fd, by 200 as fd + mapping, by 300 only mapped; inode 2
 * (64 KiB udmabuf) by 100 with two fds; inode 3 (128 KiB) only mapped by 200 (its fd closed); inode 4 only
 * mapped by 300, 4 KiB at offset 4 KiB (so at least 8 KiB); 400 is another user's; 500 holds nothing.
 */
function fakeSystem(bufinfo?: string) {
  const map = (start: number, length: number, ino: number, name = '', offset = 0) => fakeMapsLine({ start, length, ino, name, offset });
  return new FakeProc(
    [
      {
        pid: 100,
        fds: {
          3: { link: '/dmabuf:shared', fdinfo: fakeFdinfo({ ino: 1, size: MiB, count: 4, name: 'shared' }) },
          7: { link: '/dmabuf:', fdinfo: fakeFdinfo({ ino: 2, size: 64 * KiB, count: 2, exporter: 'udmabuf' }) },
          5: { link: '/dmabuf:', fdinfo: fakeFdinfo({ ino: 2, size: 64 * KiB, count: 2, exporter: 'udmabuf' }) },
        },
        maps: '',
      },
      {
        pid: 200,
        fds: { 3: { link: '/dmabuf:shared', fdinfo: fakeFdinfo({ ino: 1, size: MiB, count: 4, name: 'shared' }) } },
        maps: [map(0x7f0000000000, MiB, 1, 'shared'), map(0x7f0000200000, 128 * KiB, 3, 'only-mapped')].join('\n'),
      },
      { pid: 300, fds: {}, maps: [map(0x7f1000000000, MiB, 1, 'shared'), map(0x7f1000200000, 4 * KiB, 4, '', 4 * KiB)].join('\n') },
      { pid: 400, uid: 1000 },
      { pid: 500 }, // holds nothing
    ],
    bufinfo === undefined ? {} : { bufinfo },
  ).fail('/proc/400/fd', 'EACCES');
}

describe('buildSnapshot', () => {
  const s = buildSnapshot(scanProc({ reader: fakeSystem() }));

  it('lists each buffer once by inode, with each holder and how it holds it', () => {
    expect(s.buffers.map((b) => [b.inode, b.exporter, b.name, b.size, b.sizeFrom, b.refs])).toEqual([
      [1, 'system', 'shared', MiB, 'fdinfo', 4],
      [2, 'udmabuf', null, 64 * KiB, 'fdinfo', 2],
      [3, null, 'only-mapped', 128 * KiB, 'maps', null],
      [4, null, null, 8 * KiB, 'maps', null],
    ]);
    expect(s.buffers[0]!.holders).toEqual([
      { pid: 100, how: 'fd', fds: [3], mappings: 0, mappedBytes: 0 },
      { pid: 200, how: 'both', fds: [3], mappings: 1, mappedBytes: MiB },
      { pid: 300, how: 'mapping', fds: [], mappings: 1, mappedBytes: MiB },
    ]);
    expect(s.buffers[1]!.holders).toEqual([{ pid: 100, how: 'fd', fds: [5, 7], mappings: 0, mappedBytes: 0 }]);
  });

  it('gives a buffer only mapped the end of its furthest mapping as its size (a lower bound)', () => {
    expect(s.buffers.find((b) => b.inode === 4)).toMatchObject({ size: 8 * KiB, sizeFrom: 'maps', holders: [{ pid: 300, mappings: 1, mappedBytes: 4 * KiB }] });
  });

  it('lists the processes holding buffers, with what each holds, who else holds it, and its totals', () => {
    expect(s.processes.map((p) => [p.pid, p.command, p.totals])).toEqual([
      [100, 'node child-100.mjs', { buffers: 2, bytes: MiB + 64 * KiB }],
      [200, 'node child-200.mjs', { buffers: 2, bytes: MiB + 128 * KiB }],
      [300, 'node child-300.mjs', { buffers: 2, bytes: MiB + 8 * KiB }],
    ]);
    expect(s.processes[1]!.buffers.map((b) => [b.inode, b.how, b.sharedWith])).toEqual([
      [1, 'both', [100, 300]],
      [3, 'mapping', []],
    ]);
  });

  it('counts a shared buffer once in the totals, and totals each exporter', () => {
    expect(s.totals).toEqual({
      buffers: 4,
      bytes: MiB + 64 * KiB + 128 * KiB + 8 * KiB,
      shared: 1,
      byExporter: [
        { exporter: 'system', buffers: 1, bytes: MiB },
        { exporter: null, buffers: 2, bytes: 136 * KiB },
        { exporter: 'udmabuf', buffers: 1, bytes: 64 * KiB },
      ],
      unattributed: null,
    });
  });

  it('reports the process it could not read', () => {
    expect(s.unreadable).toEqual([{ pid: 400, command: 'node child-400.mjs', uid: 1000, error: 'EACCES', what: 'fd' }]);
    expect(s.sources).toEqual({ bufinfo: 'ENOENT', vanished: 0 });
  });

  it('with debugfs: real sizes and exporters of buffers only mapped, and the buffers no process holds', () => {
    const bufinfo = fakeBufinfo([
      { ino: 1, size: MiB, count: 4, name: 'shared' },
      { ino: 2, size: 64 * KiB, count: 2, exporter: 'udmabuf' },
      { ino: 3, size: 128 * KiB, count: 1, name: 'only-mapped' },
      { ino: 4, size: 16 * KiB, count: 1 },
      { ino: 9, size: 614400, count: 1, name: 'in-a-driver', devices: ['vivid-000'] },
    ]);
    const d = buildSnapshot(scanProc({ reader: fakeSystem(bufinfo) }));
    expect(d.buffers.map((b) => [b.inode, b.exporter, b.size, b.sizeFrom, b.refs, b.attachments])).toEqual([
      [1, 'system', MiB, 'fdinfo', 4, 0],
      [2, 'udmabuf', 64 * KiB, 'fdinfo', 2, 0],
      [3, 'system', 128 * KiB, 'bufinfo', 1, 0],
      [4, 'system', 16 * KiB, 'bufinfo', 1, 0],
    ]);
    expect(d.unattributed).toEqual([{ inode: 9, exporter: 'system', name: 'in-a-driver', size: 614400, refs: 1, attachments: 1 }]);
    expect(d.totals.unattributed).toEqual({ buffers: 1, bytes: 614400 });
    expect(d.totals.byExporter).toEqual([
      { exporter: 'system', buffers: 3, bytes: MiB + 144 * KiB },
      { exporter: 'udmabuf', buffers: 1, bytes: 64 * KiB },
    ]);
    expect(d.sources.bufinfo).toBe('read');
  });

  it('--pid: those processes only, their buffers with every holder, totals over them; unknown pids named', () => {
    const p = buildSnapshot(scanProc({ reader: fakeSystem() }), { pids: [300, 400, 500, 999] });
    expect(p.processes.map((x) => [x.pid, x.totals.buffers])).toEqual([
      [300, 2],
      [500, 0],
    ]);
    expect(p.buffers.map((b) => b.inode)).toEqual([1, 4]);
    expect(p.buffers[0]!.holders.map((h) => h.pid)).toEqual([100, 200, 300]);
    expect(p.totals).toMatchObject({ buffers: 2, bytes: MiB + 8 * KiB, shared: 1 });
    expect(p.unreadable.map((u) => u.pid)).toEqual([400]);
    expect(p.missing).toEqual([999]);
    expect(p.unattributed).toBeNull();
  });

  it('is empty where nothing holds a dma-buf', () => {
    const e = buildSnapshot(scanProc({ reader: new FakeProc([{ pid: 1 }]) }));
    expect(e).toMatchObject({ buffers: [], processes: [], unreadable: [], missing: [], totals: { buffers: 0, bytes: 0, shared: 0, byExporter: [] } });
  });
});
