// udmabuf: dma-bufs over memfd ranges (UDMABUF_CREATE, UDMABUF_CREATE_LIST), and the module's limits.
import * as fs from 'node:fs';
import { constants as C, native } from './binding.js';
import { invalidArgument } from './errors.js';
import { check, checkAligned, checkBool, checkFd, checkOptions, checkSize, checkString, describe } from './validate.js';

/** One memfd range of a udmabuf. */
export interface UdmabufItem {
  memfd: number;
  /** Page-aligned byte offset into the memfd (default 0). */
  offset?: number;
  /** Page-aligned byte count > 0. */
  size: number;
}

function checkItem(item: unknown, name: string): Required<UdmabufItem> {
  const o = checkOptions<UdmabufItem>(item, name);
  const memfd = checkFd(o.memfd, `${name}.memfd`);
  const offset = checkAligned(checkSize(o.offset ?? 0, `${name}.offset`, 0), `${name}.offset`);
  const size = checkAligned(checkSize(o.size, `${name}.size`), `${name}.size`);
  if (offset + size > Number.MAX_SAFE_INTEGER) throw invalidArgument(`${name}: offset + size must be a safe integer`, 'ERR_OUT_OF_RANGE');
  return { memfd, offset, size };
}

/**
 * Turns a memfd range into a dma-buf (`UDMABUF_CREATE`). The memfd needs `allowSealing`, the
 * `shrink` seal, and no `write`/`future-write` seal; the size limit is `size_limit_mb`
 * (see {@link readUdmabufLimits}).
 *
 * @param devFd - fd of `/dev/udmabuf`, opened `O_RDWR`
 * @returns the dma-buf fd (close-on-exec unless `cloexec: false`)
 * @throws system error (`syscall: 'ioctl(UDMABUF_CREATE)'`, `fd: devFd`): EINVAL (seals, limits),
 *   EBADFD (not a memfd), ENOTTY (devFd is not /dev/udmabuf)
 */
export function udmabufCreate(devFd: number, options: UdmabufItem & { cloexec?: boolean }): number {
  checkFd(devFd, 'devFd');
  const item = checkItem(options, 'options');
  const cloexec = checkBool(options.cloexec, 'cloexec', true);
  const flags = cloexec ? C.UDMABUF_FLAGS_CLOEXEC : 0;
  return check(native.udmabufCreate(devFd, item.memfd, item.offset, item.size, flags), 'ioctl(UDMABUF_CREATE)', { fd: devFd });
}

/**
 * One dma-buf over several memfd ranges (`UDMABUF_CREATE_LIST`); at most `list_limit` items.
 *
 * @throws system error (`syscall: 'ioctl(UDMABUF_CREATE_LIST)'`, `fd: devFd`), as {@link udmabufCreate}
 */
export function udmabufCreateList(devFd: number, items: readonly UdmabufItem[], options?: { cloexec?: boolean }): number {
  checkFd(devFd, 'devFd');
  if (!Array.isArray(items) || items.length === 0) throw invalidArgument(`The "items" argument must be a non-empty array. Received ${describe(items)}`);
  const triples = new Float64Array(items.length * 3);
  items.forEach((it: unknown, i) => {
    const { memfd, offset, size } = checkItem(it, `items[${i}]`);
    triples.set([memfd, offset, size], i * 3);
  });
  const cloexec = checkBool(checkOptions<{ cloexec: boolean }>(options).cloexec, 'cloexec', true);
  return check(native.udmabufCreateList(devFd, cloexec ? C.UDMABUF_FLAGS_CLOEXEC : 0, triples), 'ioctl(UDMABUF_CREATE_LIST)', { fd: devFd });
}

/** udmabuf module limits. */
export interface UdmabufLimits {
  /** Most items in one UDMABUF_CREATE_LIST (default 1024); undefined when not readable. */
  listLimit: number | undefined;
  /** Largest udmabuf in MiB (default 64); undefined when not readable. */
  sizeLimitMb: number | undefined;
}

/** Reads `list_limit` and `size_limit_mb` from the udmabuf module's parameters (undefined when absent). */
export function readUdmabufLimits(dir = '/sys/module/udmabuf/parameters'): UdmabufLimits {
  checkString(dir, 'dir');
  const read = (name: string): number | undefined => {
    try {
      const n = Number.parseInt(fs.readFileSync(`${dir}/${name}`, 'utf8').trim(), 10);
      return Number.isFinite(n) ? n : undefined;
    } catch {
      return undefined;
    }
  };
  return { listLimit: read('list_limit'), sizeLimitMb: read('size_limit_mb') };
}
