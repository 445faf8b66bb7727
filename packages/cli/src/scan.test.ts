// Reading every process from a FAKE /proc: dma-buf fds and mappings found, other fds ignored, a process that
// exits mid-read left out as gone, one this user may not read reported with the reason.
import { describe, expect, it } from 'vitest';
import { FAKE_OTHER_MAPS, FakeProc, fakeBufinfo, fakeFdinfo, fakeMapsLine } from './fake-proc.test-helpers.js';
import { scanProc, scanProcess } from './scan.js';

const DMABUF_FDS = {
  0: { link: '/dev/null' },
  3: { link: '/dmabuf:frame', fdinfo: fakeFdinfo({ ino: 11, size: 65536, count: 2, name: 'frame' }) },
  4: { link: '/dev/dma_heap/system' },
  5: { link: '/dmabuf:', fdinfo: fakeFdinfo({ ino: 12, size: 8192 }) },
  6: { link: '/memfd:pages (deleted)' },
};

describe('scanProcess (FAKE /proc)', () => {
  it('takes the dma-buf fds (by their /dmabuf: link, confirmed by fdinfo) and mappings, nothing else', () => {
    const proc = new FakeProc([{ pid: 40, fds: DMABUF_FDS, maps: `${FAKE_OTHER_MAPS}\n${fakeMapsLine({ start: 0x7f0000000000, length: 65536, ino: 11, name: 'frame' })}` }]);
    expect(scanProcess(40, proc)).toEqual({
      pid: 40,
      command: 'node child-40.mjs',
      uid: 0,
      fds: [
        { fd: 3, info: { ino: 11, size: 65536, count: 2, exporter: 'system', name: 'frame' } },
        { fd: 5, info: { ino: 12, size: 8192, count: 1, exporter: 'system' } },
      ],
      maps: [{ ino: 11, name: 'frame', length: 65536, offset: 0, perms: 'rw-s', dev: '00:0b' }],
    });
  });

  it('names a kernel thread by its comm', () => {
    const proc = new FakeProc([{ pid: 2, cmdline: '', comm: 'kthreadd', maps: '', fds: {} }]);
    expect(scanProcess(2, proc)).toMatchObject({ pid: 2, command: '[kthreadd]', fds: [], maps: [] });
  });

  it('reports another user\'s process as unreadable, with the error and what failed', () => {
    const proc = new FakeProc([{ pid: 41, uid: 1000 }]).fail('/proc/41/fd', 'EACCES');
    expect(scanProcess(41, proc)).toEqual({ pid: 41, command: 'node child-41.mjs', uid: 1000, error: 'EACCES', what: 'fd' });
    const maps = new FakeProc([{ pid: 42 }]).fail('/proc/42/maps', 'EACCES');
    expect(scanProcess(42, maps)).toMatchObject({ error: 'EACCES', what: 'maps' });
    const fdinfo = new FakeProc([{ pid: 43, fds: DMABUF_FDS }]).fail('/proc/43/fdinfo/3', 'EPERM');
    expect(scanProcess(43, fdinfo)).toMatchObject({ error: 'EPERM', what: 'fd' });
  });

  it('leaves out a process that exits at any point of the read (ENOENT, ESRCH)', () => {
    for (const [path, code] of [
      ['/proc/44/cmdline', 'ENOENT'],
      ['/proc/44/fd', 'ENOENT'],
      ['/proc/44/maps', 'ESRCH'],
      ['/proc/44/maps', 'ENOENT'],
    ] as const) {
      const proc = new FakeProc([{ pid: 44, fds: DMABUF_FDS }]).fail(path, code);
      if (path.endsWith('cmdline')) proc.fail('/proc/44/comm', 'ENOENT');
      expect(scanProcess(44, proc), `${path} ${code}`).toBe('gone');
    }
  });

  it('skips an fd closed between the listing and its read', () => {
    const proc = new FakeProc([{ pid: 45, fds: DMABUF_FDS }]).fail('/proc/45/fd/3', 'ENOENT').fail('/proc/45/fdinfo/5', 'ENOENT');
    expect(scanProcess(45, proc)).toMatchObject({ pid: 45, fds: [] });
  });
});

describe('scanProc (FAKE /proc)', () => {
  it('reads every numeric entry of /proc in pid order, counting the vanished, and bufinfo where readable', () => {
    const proc = new FakeProc(
      [
        { pid: 300, fds: DMABUF_FDS },
        { pid: 7, uid: 1000 },
        { pid: 12 },
      ],
      { bufinfo: fakeBufinfo([{ ino: 11, size: 65536, count: 2, name: 'frame' }]) },
    )
      .fail('/proc/7/fd', 'EACCES')
      .fail('/proc/12/fd', 'ENOENT');
    const scan = scanProc({ reader: proc });
    expect(scan.processes.map((p) => p.pid)).toEqual([300]);
    expect(scan.unreadable).toEqual([{ pid: 7, command: 'node child-7.mjs', uid: 1000, error: 'EACCES', what: 'fd' }]);
    expect(scan.vanished).toBe(1);
    expect(scan.bufinfo).toEqual([{ ino: 11, size: 65536, count: 2, exporter: 'system', name: 'frame', attachments: 0 }]);
  });

  it('says why bufinfo was not read', () => {
    expect(scanProc({ reader: new FakeProc([]) }).bufinfo).toEqual({ error: 'ENOENT' });
    expect(scanProc({ reader: new FakeProc([], { bufinfo: '' }).fail('/sys/kernel/debug/dma_buf/bufinfo', 'EACCES') }).bufinfo).toEqual({ error: 'EACCES' });
  });

  it('reads only the pids asked for', () => {
    const proc = new FakeProc([{ pid: 1 }, { pid: 2 }, { pid: 3 }]);
    expect(scanProc({ reader: proc, pids: [3, 1, 99] }).processes.map((p) => p.pid)).toEqual([1, 3]);
  });
});
