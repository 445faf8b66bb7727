// `dmaheap ls` and one refresh of --watch as text, from a FAKE /proc.
import { describe, expect, it } from 'vitest';
import { diffSnapshots } from './diff.js';
import { FakeProc, fakeFdinfo, fakeMapsLine } from './fake-proc.test-helpers.js';
import { makeStyle } from './format.js';
import { buildSnapshot } from './model.js';
import { heldAs, renderLs, renderWatch, shortCommand } from './render.js';
import { scanProc } from './scan.js';

const style = makeStyle(false);
const fake = (leaked = 0) =>
  new FakeProc([
    {
      pid: 100,
      cmdline: 'node\0camera.mjs\0',
      fds: {
        3: { link: '/dmabuf:frame', fdinfo: fakeFdinfo({ ino: 1, size: 3112960, count: 3, name: 'frame' }) },
        ...Object.fromEntries(Array.from({ length: leaked }, (_, i) => [20 + i, { link: '/dmabuf:leak', fdinfo: fakeFdinfo({ ino: 50 + i, size: 65536, name: 'leak' }) }])),
      },
      maps: fakeMapsLine({ start: 0x7f0000000000, length: 3112960, ino: 1, name: 'frame' }),
    },
    {
      pid: 2001,
      cmdline: './encoder\0',
      fds: { 4: { link: '/dmabuf:frame', fdinfo: fakeFdinfo({ ino: 1, size: 3112960, count: 3, name: 'frame' }) } },
      maps: fakeMapsLine({ start: 0x7f1000000000, length: 8192, ino: 9 }),
    },
    { pid: 1, uid: 0, cmdline: '/sbin/init\0' },
  ]).fail('/proc/1/fd', 'EACCES');

describe('renderLs', () => {
  it('prints a table by process, totals per process and exporter, and the unreadable processes', () => {
    const text = renderLs(buildSnapshot(scanProc({ reader: fake() })), { style, users: new Map([[0, 'root']]) });
    expect(text).toBe(
      [
        ' PID  COMMAND          INODE  EXPORTER  NAME     SIZE  HELD AS        ALSO HELD BY',
        ' 100  node camera.mjs      1  system    frame   3 MiB  fd 3 + mapped  2001',
        '2001  ./encoder            1  system    frame   3 MiB  fd 4           100',
        '                           9  ?         -      ≥8 KiB  mapped',
        '      = 2 buffers, 3 MiB',
        '',
        'By exporter',
        'EXPORTER         BUFFERS   SIZE',
        'system                 1  3 MiB',
        '? (only mapped)        1  8 KiB',
        '',
        'Total: 2 buffers, 3 MiB; 1 buffer held by more than one process, counted once',
        '≥: a buffer only mapped, its fd closed everywhere: its size is where its furthest mapping ends (root with debugfs mounted shows the real size)',
        '',
        'Unreadable: 1 process this user may not read (their buffers are not counted above; root sees them)',
        'PID  USER  COMMAND  ERROR',
        '  1  root  init     EACCES (fd)',
        '',
      ].join('\n'),
    );
  });

  it('shows three or more alike buffers of a process in a row as one row (a leak stays readable)', () => {
    const text = renderLs(buildSnapshot(scanProc({ reader: fake(5) })), { style });
    expect(text).toMatch(/camera\.mjs +1 +system +frame +3 MiB +fd 3 \+ mapped +2001$/m);
    expect(text).toMatch(/^ +50\.\.54 +system +leak +5 × 64 KiB +fds 20\.\.24$/m);
    expect(text).toContain('      = 6 buffers, 3.3 MiB');
    // two alike are two rows
    const two = renderLs(buildSnapshot(scanProc({ reader: fake(2) })), { style });
    expect(two).toMatch(/^ +50 +system +leak +64 KiB +fd 20$/m);
    expect(two).toMatch(/^ +51 +system +leak +64 KiB +fd 21$/m);
  });

  it('says so when nothing holds a dma-buf', () => {
    expect(renderLs(buildSnapshot(scanProc({ reader: new FakeProc([{ pid: 5 }]) })), { style })).toBe('No process holds a dma-buf.\n');
  });

  it('shows a command without its program\'s directory', () => {
    expect(shortCommand('/usr/bin/node /srv/app/camera.mjs --fps 30')).toBe('node /srv/app/camera.mjs --fps 30');
    expect(shortCommand('./encoder')).toBe('./encoder');
    expect(shortCommand('/init')).toBe('init');
    expect(shortCommand('[kworker/0:1]')).toBe('[kworker/0:1]');
  });

  it('describes how a buffer is held', () => {
    expect(heldAs({ pid: 1, how: 'fd', fds: [3, 4], mappings: 0, mappedBytes: 0 }, 4096)).toBe('fds 3,4');
    expect(heldAs({ pid: 1, how: 'mapping', fds: [], mappings: 1, mappedBytes: 4096 }, 4096)).toBe('mapped');
    expect(heldAs({ pid: 1, how: 'both', fds: [3], mappings: 2, mappedBytes: 8192 }, 4096)).toBe('fd 3 + mapped 8 KiB in 2');
  });
});

describe('renderWatch', () => {
  it('shows what grew since the last refresh and since the start, and the new buffers', () => {
    const s1 = buildSnapshot(scanProc({ reader: fake(0) }));
    const s2 = buildSnapshot(scanProc({ reader: fake(2) }));
    const s3 = buildSnapshot(scanProc({ reader: fake(3) }));
    const text = renderWatch(
      { refresh: 3, count: 3, intervalMs: 200, time: new Date(2026, 0, 1, 12, 0, 3), snapshot: s3, changes: diffSnapshots(s2, s3), sinceStart: diffSnapshots(s1, s3) },
      { style },
    );
    expect(text).toContain('dmaheap ls --watch: refresh 3/3 at 12:00:03, every 200 ms');
    expect(text).toMatch(/^ 100  node camera\.mjs +4 +3\.2 MiB +\+1 \+64 KiB +\+3 \+192 KiB$/m);
    expect(text).toMatch(/^2001  \.\/encoder +2 +3 MiB +0 0 B +0 0 B$/m);
    expect(text).toContain('Total: 5 buffers, 3.2 MiB (+1 buffers, +64 KiB since the last refresh)');
    expect(text).toMatch(/New since the last refresh: 1 buffer, 64 KiB\n +INODE +EXPORTER +NAME +SIZE +HELD BY\n +52 +system +leak +64 KiB +100/);
    expect(text).toContain('Unreadable: 1 process this user may not read: 1 (0)');
  });

  it('on the first refresh shows no changes', () => {
    const s = buildSnapshot(scanProc({ reader: fake(1) }));
    const text = renderWatch({ refresh: 1, count: 0, intervalMs: 2000, time: new Date(2026, 0, 1, 9, 5, 0), snapshot: s, changes: null, sinceStart: null }, { style });
    expect(text).toContain('refresh 1 at 09:05:00, every 2000 ms');
    expect(text).not.toContain('New since');
    expect(text).toContain('Total: 3 buffers, 3 MiB\n');
  });
});
