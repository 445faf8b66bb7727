// Reads every process's dma-bufs from /proc: the fds whose link is `/dmabuf:...` (their fdinfo gives size,
// exporter, name and inode) and the dma-buf mappings in maps. A process can exit between the listing of /proc
// and any read (ENOENT, ESRCH): it is left out as gone. One this user may not read (EACCES, EPERM: another
// user's, or a kernel thread's when not root) is reported as unreadable with the reason, never left out.
import * as fs from 'node:fs';
import { parseBufinfo, parseCmdline, parseFdinfo, parseMaps, parseStatusUid, type BufinfoEntry, type DmabufFdinfo, type DmabufMapping } from './procfs.js';

/** The file-system calls the scan makes: Node's by default, a FAKE /proc in the host tests. */
export interface ProcReader {
  readdir(path: string): string[];
  readFile(path: string): string;
  readlink(path: string): string;
}

export const nodeReader: ProcReader = {
  readdir: (path) => fs.readdirSync(path),
  readFile: (path) => fs.readFileSync(path, 'utf8'),
  readlink: (path) => fs.readlinkSync(path, 'utf8'),
};

export interface ProcessScan {
  pid: number;
  command: string;
  uid: number | undefined;
  fds: Array<{ fd: number; info: DmabufFdinfo }>;
  maps: DmabufMapping[];
}

export interface UnreadableProcess {
  pid: number;
  command: string;
  uid: number | undefined;
  /** The error code of the read that failed (`EACCES`, `EPERM`, ...). */
  error: string;
  /** What could not be read: `fd` (the fd directory or an fdinfo) or `maps`. */
  what: 'fd' | 'maps';
}

export interface ProcScan {
  processes: ProcessScan[];
  unreadable: UnreadableProcess[];
  /** Processes that exited while they were read. */
  vanished: number;
  /** debugfs bufinfo, when readable; else why not. */
  bufinfo: BufinfoEntry[] | { error: string };
}

export interface ScanOptions {
  reader?: ProcReader;
  /** Default `/proc`. */
  proc?: string;
  /** Default `/sys/kernel/debug/dma_buf/bufinfo`. */
  bufinfo?: string;
  /** Read only these pids (default: every process). */
  pids?: readonly number[];
}

const GONE = new Set(['ENOENT', 'ESRCH']);
const code = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code ?? String(err);

class Unreadable extends Error {
  constructor(
    readonly errorCode: string,
    readonly what: 'fd' | 'maps',
  ) {
    super(errorCode);
  }
}
class Gone extends Error {}

/** Runs a read: a vanished process throws Gone, any other error Unreadable (EACCES, EPERM, and whatever else). */
function attempt<T>(what: 'fd' | 'maps', read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (GONE.has(code(err))) throw new Gone();
    throw new Unreadable(code(err), what);
  }
}

function optional<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

export function listPids(reader: ProcReader = nodeReader, proc = '/proc'): number[] {
  return reader
    .readdir(proc)
    .filter((e) => /^[1-9]\d*$/.test(e))
    .map(Number)
    .sort((a, b) => a - b);
}

function commandOf(reader: ProcReader, dir: string): string | undefined {
  const cmdline = optional(() => parseCmdline(reader.readFile(`${dir}/cmdline`)));
  if (cmdline) return cmdline;
  const comm = optional(() => reader.readFile(`${dir}/comm`).trim());
  if (comm !== undefined) return `[${comm}]`;
  return cmdline; // '' or undefined (gone)
}

/** One process: its dma-buf fds and mappings; `'gone'` when it exited meanwhile. */
export function scanProcess(pid: number, reader: ProcReader = nodeReader, proc = '/proc'): ProcessScan | UnreadableProcess | 'gone' {
  const dir = `${proc}/${pid}`;
  const command = commandOf(reader, dir);
  if (command === undefined) return 'gone';
  const uid = optional(() => parseStatusUid(reader.readFile(`${dir}/status`)));
  try {
    const fds: ProcessScan['fds'] = [];
    const entries = attempt('fd', () => reader.readdir(`${dir}/fd`));
    for (const entry of entries) {
      const fd = Number(entry);
      if (!Number.isSafeInteger(fd)) continue;
      let link: string;
      try {
        link = reader.readlink(`${dir}/fd/${fd}`);
      } catch (err) {
        if (GONE.has(code(err))) continue; // this fd was closed meanwhile (or the process exited: seen below)
        throw new Unreadable(code(err), 'fd');
      }
      if (!link.startsWith('/dmabuf:')) continue;
      let text: string;
      try {
        text = reader.readFile(`${dir}/fdinfo/${fd}`);
      } catch (err) {
        if (GONE.has(code(err))) continue;
        throw new Unreadable(code(err), 'fd');
      }
      const info = parseFdinfo(text);
      if (info) fds.push({ fd, info });
    }
    const maps = parseMaps(attempt('maps', () => reader.readFile(`${dir}/maps`)));
    return { pid, command, uid, fds: fds.sort((a, b) => a.fd - b.fd), maps };
  } catch (err) {
    if (err instanceof Gone) return 'gone';
    if (err instanceof Unreadable) return { pid, command, uid, error: err.errorCode, what: err.what };
    throw err;
  }
}

/** Every process (or those of `pids`), and debugfs bufinfo where this user can read it. */
export function scanProc(options: ScanOptions = {}): ProcScan {
  const reader = options.reader ?? nodeReader;
  const proc = options.proc ?? '/proc';
  const all = listPids(reader, proc);
  const pids = options.pids ? all.filter((p) => options.pids!.includes(p)) : all;
  const scan: ProcScan = { processes: [], unreadable: [], vanished: 0, bufinfo: { error: 'ENOENT' } };
  for (const pid of pids) {
    const r = scanProcess(pid, reader, proc);
    if (r === 'gone') scan.vanished++;
    else if ('error' in r) scan.unreadable.push(r);
    else scan.processes.push(r);
  }
  try {
    scan.bufinfo = parseBufinfo(reader.readFile(options.bufinfo ?? '/sys/kernel/debug/dma_buf/bufinfo'));
  } catch (err) {
    scan.bufinfo = { error: code(err) };
  }
  return scan;
}
