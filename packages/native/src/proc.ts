// What /proc says about this process's fds: fdinfo (a dma-buf's size, references, exporter and name), the
// heap nodes present, how many fds are open.
import * as fs from 'node:fs';
import { systemError } from './errors.js';
import { checkFd, checkString } from './validate.js';

const EBADF = 9;

/** `/proc/self/fdinfo/<fd>`, parsed. */
export interface FdInfo {
  /** File position. */
  pos: number;
  /** Open flags (octal in the file), `O_CLOEXEC` included when set on the fd. */
  flags: number;
  mntId: number;
  ino?: number;
  /** dma-buf: size in bytes. */
  size?: number;
  /** dma-buf: references to the file other than procfs's own. */
  count?: number;
  /** dma-buf: exporter (`system`, `udmabuf`, a CMA heap name). */
  expName?: string;
  /** dma-buf: name set with {@link bufSetName}. */
  name?: string;
  /** Every `key: value` line as text. */
  raw: Record<string, string>;
}

/**
 * Reads and parses `/proc/self/fdinfo/<fd>`.
 *
 * @throws system error EBADF (`syscall: 'open'`, with `fd` and `path`) when the fd is not open
 */
export function readFdInfo(fd: number): FdInfo {
  checkFd(fd);
  const path = `/proc/self/fdinfo/${fd}`;
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw systemError('open', -EBADF, { fd, path });
    throw e;
  }
  const raw: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const rest = line.slice(colon + 1);
    raw[line.slice(0, colon)] = rest.startsWith('\t') ? rest.slice(1) : rest.trimStart();
  }
  const int = (key: string, radix = 10) => (raw[key] === undefined ? undefined : Number.parseInt(raw[key], radix));
  const info: FdInfo = { pos: int('pos') ?? 0, flags: int('flags', 8) ?? 0, mntId: int('mnt_id') ?? 0, raw };
  const ino = int('ino'), size = int('size'), count = int('count');
  if (ino !== undefined) info.ino = ino;
  if (size !== undefined) info.size = size;
  if (count !== undefined) info.count = count;
  if (raw['exp_name'] !== undefined) info.expName = raw['exp_name'];
  if (raw['name'] !== undefined) info.name = raw['name'];
  return info;
}

/** Names of the dma-buf heaps in `dir` (sorted); `[]` when the directory does not exist. */
export function listDmaHeaps(dir = '/dev/dma_heap'): string[] {
  checkString(dir, 'dir');
  try {
    return fs.readdirSync(dir).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
}

/** How many fds this process has open (entries of /proc/self/fd, minus the one used to list them). */
export function openFdCount(): number {
  return fs.readdirSync('/proc/self/fd').length - 1;
}
