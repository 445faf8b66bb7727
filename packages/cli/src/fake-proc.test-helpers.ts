// A FAKE /proc for the host tests: files, directories and links held in a map, errors injected per path
// (EACCES for another user's process, ENOENT or ESRCH for one that exits while it is read). The texts are
// copies of what Debian's 6.12 kernel printed in the VM.
import type { ProcReader } from './scan.js';

/** FAKE fdinfo of a dma-buf, as 6.12 prints it. */
export function fakeFdinfo(b: { ino: number; size: number; count?: number; exporter?: string; name?: string }): string {
  return (
    `pos:\t0\nflags:\t02000002\nmnt_id:\t12\nino:\t${b.ino}\nsize:\t${b.size}\ncount:\t${b.count ?? 1}\nexp_name:\t${b.exporter ?? 'system'}\n` +
    (b.name !== undefined ? `name:\t${b.name}\n` : '')
  );
}

/** A FAKE maps line of a dma-buf mapping (the padding of 6.12's). */
export function fakeMapsLine(m: { start: number; length: number; ino: number; name?: string; offset?: number; dev?: string }): string {
  const hex = (n: number) => n.toString(16);
  const head = `${hex(m.start)}-${hex(m.start + m.length)} rw-s ${hex(m.offset ?? 0).padStart(8, '0')} ${m.dev ?? '00:0b'} ${m.ino}`;
  return `${head.padEnd(73)}/dmabuf:${m.name ?? ''}`;
}

export const FAKE_OTHER_MAPS = [
  '55d0c8a00000-55d0c8a2c000 r--p 00000000 00:1f 1319                       /usr/bin/node',
  '7f47da000000-7f47da100000 rw-s 00000000 00:01 2054                       /memfd:pages (deleted)',
  '7ffd1b9f1000-7ffd1ba12000 rw-p 00000000 00:00 0                          [stack]',
].join('\n');

export interface FakeProcess {
  pid: number;
  cmdline?: string; // NUL-separated; '' for a kernel thread
  comm?: string;
  uid?: number;
  /** fd -> link target, with fdinfo text for dma-bufs. */
  fds?: Record<number, { link: string; fdinfo?: string }>;
  maps?: string;
}

export class FakeProc implements ProcReader {
  readonly files = new Map<string, string>();
  readonly dirs = new Map<string, string[]>();
  readonly links = new Map<string, string>();
  readonly errors = new Map<string, string>();

  constructor(processes: FakeProcess[], extra: { bufinfo?: string } = {}) {
    this.dirs.set('/proc', ['self', 'sys', 'meminfo', ...processes.map((p) => String(p.pid))]);
    for (const p of processes) this.add(p);
    if (extra.bufinfo !== undefined) this.files.set('/sys/kernel/debug/dma_buf/bufinfo', extra.bufinfo);
  }

  add(p: FakeProcess): void {
    const dir = `/proc/${p.pid}`;
    this.files.set(`${dir}/cmdline`, p.cmdline ?? `node\0child-${p.pid}.mjs\0`);
    this.files.set(`${dir}/comm`, `${p.comm ?? 'node'}\n`);
    this.files.set(`${dir}/status`, `Name:\t${p.comm ?? 'node'}\nUid:\t${p.uid ?? 0}\t${p.uid ?? 0}\t${p.uid ?? 0}\t${p.uid ?? 0}\n`);
    this.files.set(`${dir}/maps`, p.maps ?? FAKE_OTHER_MAPS);
    const fds = p.fds ?? { 0: { link: '/dev/null' }, 1: { link: 'pipe:[1234]' }, 2: { link: 'pipe:[1234]' } };
    this.dirs.set(`${dir}/fd`, Object.keys(fds));
    for (const [fd, f] of Object.entries(fds)) {
      this.links.set(`${dir}/fd/${fd}`, f.link);
      this.files.set(`${dir}/fdinfo/${fd}`, f.fdinfo ?? 'pos:\t0\nflags:\t02\nmnt_id:\t20\nino:\t77\n');
    }
  }

  /** Makes reading `path` fail with `code`. */
  fail(path: string, code: string): this {
    this.errors.set(path, code);
    return this;
  }

  private check(path: string): void {
    const code = this.errors.get(path);
    if (code) throw Object.assign(new Error(`${code}: ${path}`), { code });
  }
  readdir(path: string): string[] {
    this.check(path);
    const d = this.dirs.get(path);
    if (!d) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return [...d];
  }
  readFile(path: string): string {
    this.check(path);
    const f = this.files.get(path);
    if (f === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return f;
  }
  readlink(path: string): string {
    this.check(path);
    const l = this.links.get(path);
    if (l === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return l;
  }
}

/** FAKE debugfs bufinfo, in 6.12's format. */
export function fakeBufinfo(buffers: Array<{ ino: number; size: number; count: number; exporter?: string; name?: string; devices?: string[] }>): string {
  const pad = (n: number) => String(n).padStart(8, '0');
  let text = '\nDma-buf Objects:\nsize    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n';
  for (const b of buffers) {
    text += `${pad(b.size)}\t00000002\t00080007\t${pad(b.count)}\t${b.exporter ?? 'system'}\t${pad(b.ino)}\t${b.name ?? '<none>'}\n`;
    text += '\tAttached Devices:\n';
    for (const d of b.devices ?? []) text += `\t${d}\n`;
    text += `Total ${(b.devices ?? []).length} devices attached\n\n`;
  }
  text += `\nTotal ${buffers.length} objects, ${buffers.reduce((n, b) => n + b.size, 0)} bytes\n`;
  return text;
}
