// What /proc and debugfs say about dma-bufs, parsed (pure: text in, records out).
//   /proc/<pid>/fdinfo/<fd> of a dma-buf: pos, flags, mnt_id, ino, then size, count, exp_name and (once set) name.
//   /proc/<pid>/maps: a dma-buf mapping's path is `/dmabuf:<name>` (`/dmabuf:` when unnamed) on the dma-buf
//     pseudo filesystem (device major 0), with the buffer's inode, e.g. on 6.12
//     `7f47da7e4000-7f47da7f4000 rw-s 00000000 00:0b 1                          /dmabuf:named buf`.
//   /sys/kernel/debug/dma_buf/bufinfo (root, debugfs): every dma-buf the kernel has, held or not.

/** A dma-buf fd as its fdinfo shows it. */
export interface DmabufFdinfo {
  /** The dma-buf's inode: the same number in every process, and in maps. */
  ino: number;
  size: number;
  /** References to the dma-buf's file (fds in every process, mappings, importers), procfs's own not counted. */
  count: number;
  /** Exporter: `system`, `udmabuf`, a CMA heap's name, a driver's. */
  exporter: string;
  name?: string;
}

/** Parses one fdinfo file; `undefined` when it is not a dma-buf's (no `exp_name:` line). */
export function parseFdinfo(text: string): DmabufFdinfo | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    if (fields.has(key)) continue; // the first of a key (later lines may be an exporter's own)
    fields.set(key, line.slice(colon + 1).replace(/^[\t ]/, ''));
  }
  const exporter = fields.get('exp_name');
  const ino = Number(fields.get('ino'));
  const size = Number(fields.get('size'));
  const count = Number(fields.get('count'));
  if (exporter === undefined || !Number.isSafeInteger(ino) || !Number.isSafeInteger(size)) return undefined;
  const info: DmabufFdinfo = { ino, size, count: Number.isSafeInteger(count) ? count : 0, exporter };
  const name = fields.get('name');
  if (name !== undefined) info.name = name;
  return info;
}

/** One mapping of a dma-buf, from a maps line. */
export interface DmabufMapping {
  ino: number;
  /** The name in the path (`/dmabuf:<name>`), `''` when unnamed. */
  name: string;
  /** Bytes mapped. */
  length: number;
  /** Offset into the buffer, in bytes. */
  offset: number;
  perms: string;
  /** `major:minor` of the dma-buf filesystem, as maps prints it (hex). */
  dev: string;
}

const MAPS_LINE = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+):([0-9a-f]+)\s+(\d+)\s+(.*)$/;
const DMABUF_PATH = '/dmabuf:';

/** The dma-buf mappings of a maps file: paths `/dmabuf:...` on a device of major 0 (a pseudo filesystem). */
export function parseMaps(text: string): DmabufMapping[] {
  const out: DmabufMapping[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes(DMABUF_PATH)) continue;
    const m = MAPS_LINE.exec(line);
    if (!m) continue;
    const [, start, end, perms, offset, major, minor, ino, path] = m;
    if (!path!.startsWith(DMABUF_PATH) || Number.parseInt(major!, 16) !== 0) continue;
    out.push({
      ino: Number(ino),
      // The kernel prints a newline in a path as \012.
      name: path!.slice(DMABUF_PATH.length).replace(/\\012/g, '\n'),
      length: Number(BigInt(`0x${end}`) - BigInt(`0x${start}`)),
      offset: Number(BigInt(`0x${offset}`)),
      perms: perms!,
      dev: `${major}:${minor}`,
    });
  }
  return out;
}

/** `/proc/<pid>/cmdline`: arguments joined by spaces; `''` for a kernel thread (or a zombie). */
export function parseCmdline(raw: string): string {
  return raw.split('\0').filter((a, i, all) => !(a === '' && i === all.length - 1)).join(' ').trim();
}

/** The real uid from `/proc/<pid>/status`. */
export function parseStatusUid(text: string): number | undefined {
  const m = /^Uid:\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** One buffer of debugfs `bufinfo`. */
export interface BufinfoEntry {
  ino: number;
  size: number;
  exporter: string;
  /** `undefined` when unnamed (bufinfo prints `<none>`). */
  name?: string;
  /** References to the buffer's file. */
  count: number;
  /** Devices attached (importers in the kernel). */
  attachments: number;
}

const BUFINFO_LINE = /^(\d+)\t([0-9a-f]+)\t([0-9a-f]+)\t(\d+)\t([^\t]*)\t(\d+)\t(.*)$/;

/**
 * Parses `/sys/kernel/debug/dma_buf/bufinfo` (6.12: a header, then per buffer a line
 * `size flags mode count exp_name ino name` in `%08zu\t%08x\t%08x\t%08ld\t%s\t%08lu\t%s`, its fences, its
 * attached devices and `Total N devices attached`; at the end `Total N objects, B bytes`).
 */
export function parseBufinfo(text: string): BufinfoEntry[] {
  const out: BufinfoEntry[] = [];
  let current: BufinfoEntry | undefined;
  for (const line of text.split('\n')) {
    const m = BUFINFO_LINE.exec(line);
    if (m) {
      const [, size, , , count, exporter, ino, name] = m;
      current = { ino: Number(ino), size: Number(size), exporter: exporter!, count: Number(count), attachments: 0 };
      if (name !== '<none>') current.name = name!;
      out.push(current);
      continue;
    }
    const attached = /^Total (\d+) devices attached/.exec(line);
    if (attached && current) current.attachments = Number(attached[1]);
  }
  return out;
}
