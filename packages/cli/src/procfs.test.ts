// Parsing what 6.12 prints in fdinfo, maps, cmdline, status and debugfs bufinfo (FAKE texts, copied from the VM).
import { describe, expect, it } from 'vitest';
import { fakeBufinfo, fakeFdinfo, fakeMapsLine } from './fake-proc.test-helpers.js';
import { parseBufinfo, parseCmdline, parseFdinfo, parseMaps, parseStatusUid } from './procfs.js';

describe('parseFdinfo', () => {
  it('reads a dma-buf fd: inode, size, count, exporter and name (FAKE text as 6.12 prints it)', () => {
    const FAKE = 'pos:\t0\nflags:\t02000002\nmnt_id:\t12\nino:\t1\nsize:\t65536\ncount:\t2\nexp_name:\tsystem\nname:\tnamed buf\n';
    expect(parseFdinfo(FAKE)).toEqual({ ino: 1, size: 65536, count: 2, exporter: 'system', name: 'named buf' });
  });

  it('has no name before one is set', () => {
    expect(parseFdinfo(fakeFdinfo({ ino: 3, size: 1 << 20, count: 2, exporter: 'udmabuf' }))).toEqual({ ino: 3, size: 1 << 20, count: 2, exporter: 'udmabuf' });
  });

  it('is undefined for any other fd (no exp_name), and for truncated text', () => {
    expect(parseFdinfo('pos:\t0\nflags:\t02\nmnt_id:\t20\nino:\t77\n')).toBeUndefined();
    expect(parseFdinfo('pos:\t0\nflags:\t0100002\nmnt_id:\t15\nino:\t2054\n')).toBeUndefined();
    expect(parseFdinfo('pos:\t0\nexp_name:\tsystem\n')).toBeUndefined();
    expect(parseFdinfo('')).toBeUndefined();
  });

  it('keeps spaces and colons inside a name', () => {
    expect(parseFdinfo(fakeFdinfo({ ino: 9, size: 4096, name: 'cam0: frame 3' }))?.name).toBe('cam0: frame 3');
  });
});

describe('parseMaps', () => {
  // FAKE maps of a process with three dma-buf mappings (as the 6.12 guest printed them) among others.
  const FAKE = [
    '55d0c8a00000-55d0c8a2c000 r--p 00000000 00:1f 1319                       /usr/bin/node',
    '7f47da6e2000-7f47da6e4000 rw-s 00004000 00:0b 3                          /dmabuf:',
    '7f47da6e4000-7f47da7e4000 rw-s 00000000 00:0b 3                          /dmabuf:',
    '7f47da7e4000-7f47da7f4000 rw-s 00000000 00:0b 1                          /dmabuf:named buf',
    '7f4800000000-7f4800100000 rw-s 00000000 00:01 2054                       /memfd:pages (deleted)',
    '7f4800200000-7f4800201000 r--s 00000000 08:01 4242                       /dmabuf:a file called so',
    '7ffd1b9f1000-7ffd1ba12000 rw-p 00000000 00:00 0                          [stack]',
    'ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]',
  ].join('\n');

  it('finds each dma-buf mapping with its inode, name, length and offset', () => {
    expect(parseMaps(FAKE)).toEqual([
      { ino: 3, name: '', length: 8192, offset: 0x4000, perms: 'rw-s', dev: '00:0b' },
      { ino: 3, name: '', length: 1 << 20, offset: 0, perms: 'rw-s', dev: '00:0b' },
      { ino: 1, name: 'named buf', length: 65536, offset: 0, perms: 'rw-s', dev: '00:0b' },
    ]);
  });

  it('leaves out a real file whose path happens to start with /dmabuf: (a block device, not major 0)', () => {
    expect(parseMaps(FAKE).some((m) => m.name === 'a file called so')).toBe(false);
  });

  it('turns the \\012 the kernel prints for a newline back into one', () => {
    expect(parseMaps(fakeMapsLine({ start: 0x7f0000000000, length: 4096, ino: 5, name: 'two\\012lines' }))[0]!.name).toBe('two\nlines');
  });

  it('is empty for a kernel thread (empty maps) and for garbage', () => {
    expect(parseMaps('')).toEqual([]);
    expect(parseMaps('/dmabuf:x\nnot a maps line /dmabuf:y\n')).toEqual([]);
  });
});

describe('cmdline and status', () => {
  it('joins arguments with spaces; a kernel thread has none', () => {
    expect(parseCmdline('node\0holder.mjs\0--size\x004096\0')).toBe('node holder.mjs --size 4096');
    expect(parseCmdline('')).toBe('');
    expect(parseCmdline('nginx: worker process')).toBe('nginx: worker process'); // rewritten argv, no NUL
  });

  it('reads the real uid', () => {
    expect(parseStatusUid('Name:\tnode\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t65534\t65534\t65534\t65534\nGid:\t65534\n')).toBe(65534);
    expect(parseStatusUid('Name:\tnode\n')).toBeUndefined();
  });
});

describe('parseBufinfo', () => {
  it('reads each buffer of debugfs bufinfo (FAKE text copied from 6.12), its attached devices counted', () => {
    const FAKE =
      '\nDma-buf Objects:\nsize    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n' +
      '00008192\t00000002\t00080007\t00000002\tsystem\t00000004\tdbg\n\tAttached Devices:\nTotal 0 devices attached\n\n' +
      '\nTotal 1 objects, 8192 bytes\n';
    expect(parseBufinfo(FAKE)).toEqual([{ ino: 4, size: 8192, exporter: 'system', name: 'dbg', count: 2, attachments: 0 }]);
  });

  it('has no name for <none>, and counts devices', () => {
    const FAKE = fakeBufinfo([
      { ino: 7, size: 1 << 20, count: 1, exporter: 'reserved' },
      { ino: 8, size: 614400, count: 3, devices: ['vivid-000', 'vgem'] },
    ]);
    expect(parseBufinfo(FAKE)).toEqual([
      { ino: 7, size: 1 << 20, exporter: 'reserved', count: 1, attachments: 0 },
      { ino: 8, size: 614400, exporter: 'system', count: 3, attachments: 2 },
    ]);
  });
});
