// Buffer descriptions: an optional, documented message format beside the fds, so a consumer knows what it
// received. The message is UTF-8 JSON:
//   { "dmaheap": 1, "buffers": [ { "fd": 0, "size": 614400, "name": "frame-7",
//       "fourcc": "NV12", "width": 640, "height": 480, "modifier": "0x0",
//       "planes": [ { "offset": 0, "stride": 640 }, { "offset": 307200, "stride": 640 } ] } ],
//     "meta": <anything JSON> }
// `fd` is an index into the message's fds (SCM_RIGHTS, in order); a plane with its own `fd` index lives in
// another dma-buf (disjoint planes). `modifier` is a DRM format modifier as a hex string (64 bits do not fit a
// JSON number); 0x0 is linear. Everything but `fd` and `size` is optional. Any language reads it: Python's
// json and socket.recv_fds are enough.
import { InvalidArgumentError, ProtocolError, type DmaBuf } from '@dmaheap/core';
import { closeFd, importDmaBuf } from '@dmaheap/native';
import type { FdChannel, Message } from './channel.js';
import type { Fourcc, Layout, Plane } from './formats.js';

export const FORMAT_VERSION = 1;

export interface BufferDescription {
  /** Index into the message's fds. */
  fd: number;
  size: number;
  name?: string;
  fourcc?: Fourcc | string;
  width?: number;
  height?: number;
  /** DRM format modifier, hex (`'0x0'`: linear). */
  modifier?: string;
  planes?: Plane[];
}

export interface Envelope {
  dmaheap: typeof FORMAT_VERSION;
  buffers: BufferDescription[];
  meta?: unknown;
}

/** What to send: a buffer (a DmaBuf, or a dma-buf fd and its size) and, for an image, its layout. */
export interface Outgoing {
  buffer: DmaBuf | { fd: number; size: number; name?: string };
  layout?: Layout;
  modifier?: bigint;
}

/** A received buffer: a DmaBuf over the fd (closing it closes the fd) and its description. */
export interface Incoming {
  buffer: DmaBuf;
  description: BufferDescription;
}

/** Builds the message for `buffers`: the JSON and the fds, in order. */
export function describeBuffers(buffers: readonly Outgoing[], meta?: unknown): { data: string; fds: number[] } {
  const fds: number[] = [];
  const described = buffers.map((b, i): BufferDescription => {
    fds.push(b.buffer.fd);
    const d: BufferDescription = { fd: i, size: b.buffer.size };
    if (b.buffer.name) d.name = b.buffer.name;
    if (b.layout) {
      if (b.layout.size > b.buffer.size) throw new InvalidArgumentError(`a ${b.layout.fourcc} ${b.layout.width}x${b.layout.height} image needs ${b.layout.size} bytes; buffer ${i} has ${b.buffer.size}`);
      Object.assign(d, { fourcc: b.layout.fourcc, width: b.layout.width, height: b.layout.height, modifier: `0x${(b.modifier ?? 0n).toString(16)}`, planes: b.layout.planes });
    }
    return d;
  });
  const envelope: Envelope = { dmaheap: FORMAT_VERSION, buffers: described, ...(meta === undefined ? {} : { meta }) };
  return { data: JSON.stringify(envelope), fds };
}

/** Sends buffers with their descriptions over a channel (the fds stay the sender's; the peer gets copies). */
export function sendBuffers(channel: FdChannel, buffers: readonly Outgoing[], meta?: unknown): Promise<void> {
  const { data, fds } = describeBuffers(buffers, meta);
  return channel.send(data, fds);
}

/**
 * Reads a message made by {@link describeBuffers}: every fd becomes a DmaBuf (size and exporter from the kernel,
 * name from fdinfo), checked against its description. A message that is not one, or whose fds do not match,
 * is a ProtocolError and every fd of it is closed.
 */
export function parseBuffers(message: Message): { buffers: Incoming[]; meta: unknown } {
  let envelope: Envelope;
  try {
    envelope = JSON.parse(new TextDecoder().decode(message.data)) as Envelope;
    if (envelope?.dmaheap !== FORMAT_VERSION || !Array.isArray(envelope.buffers)) throw new Error(`not a dmaheap ${FORMAT_VERSION} buffer description`);
    for (const [i, b] of envelope.buffers.entries()) {
      if (!Number.isInteger(b.fd) || b.fd < 0 || b.fd >= message.fds.length) throw new Error(`buffer ${i} names fd ${String(b.fd)} of ${message.fds.length}`);
    }
  } catch (err) {
    for (const fd of message.fds) closeFd(fd);
    throw new ProtocolError(`a buffer message that cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const adopted: DmaBuf[] = [];
  try {
    const byFd = new Map<number, DmaBuf>();
    for (const [i, fd] of message.fds.entries()) {
      const buf = importDmaBuf(fd);
      adopted.push(buf);
      byFd.set(i, buf);
    }
    const buffers = envelope.buffers.map((description) => {
      const buffer = byFd.get(description.fd)!;
      if (buffer.size < description.size) throw new ProtocolError(`buffer fd ${description.fd} is ${buffer.size} bytes, described as ${description.size}`);
      return { buffer, description };
    });
    return { buffers, meta: envelope.meta };
  } catch (err) {
    for (const b of adopted) b.close();
    for (const fd of message.fds.slice(adopted.length)) closeFd(fd);
    throw err;
  }
}

/** The next message of a channel, read as buffers ({@link parseBuffers}). */
export async function receiveBuffers(channel: FdChannel): Promise<{ buffers: Incoming[]; meta: unknown }> {
  return parseBuffers(await channel.receive());
}
