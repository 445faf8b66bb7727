// @ts-check
// A Node peer on the socket passed as its fd 3 (share.vm.test.ts), with @dmaheap/share: the same protocol as
// peer.py and peer.c. It consumes buffers (import, map, check, optionally mark, close, reply), produces them
// from systemHeap() or bufferPool(systemHeap()), and misbehaves on request.
import { kernelHeap, openFdCount, sendFds } from '@dmaheap/native';
import { bufferPool } from '@dmaheap/pagepool';
import { FdChannel, parseBuffers, sendBuffers } from '@dmaheap/share';
import { systemHeap } from '@dmaheap/system-heap';

const channel = FdChannel.fromFd(3);
/** @param {unknown} obj @param {number[]} [fds] */
const reply = (obj, fds = []) => channel.send(JSON.stringify(obj), fds);
const pause = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

for await (const message of channel) {
  const msg = JSON.parse(new TextDecoder().decode(message.data));
  const op = msg.dmaheap ? msg.meta?.op : msg.op;
  if (op === 'hello') {
    await reply({ op: 'hello', fds: openFdCount(), pid: process.pid, rss: process.memoryUsage().rss });
  } else if (op === 'consume') {
    const { buffers, meta } = parseBuffers(message);
    const m = /** @type {{ fill: number, marker?: number, holdMs?: number }} */ (meta);
    const results = [];
    for (const { buffer, description } of buffers) {
      const ok = buffer.withCpuAccess('read', (v) => v.every((b) => b === m.fill));
      if (m.holdMs) await pause(m.holdMs / 2);
      if (m.marker !== undefined) buffer.withCpuAccess('write', (v) => v.fill(/** @type {number} */ (m.marker)));
      if (m.holdMs) await pause(m.holdMs / 2);
      const info = buffer.info();
      results.push({ ok, size: description.size, exporter: info.exporter, name: info.name });
      buffer.close();
    }
    await reply({ op: 'consumed', results });
  } else if (op === 'touch') {
    const { buffers } = parseBuffers(message);
    const buffer = buffers[0]?.buffer;
    const [first, last] = buffer ? buffer.withCpuAccess('read', (v) => [v[0], v[v.length - 1]]) : [];
    for (const b of buffers) b.buffer.close();
    await reply({ op: 'touched', first, last });
  } else if (op === 'produce') {
    const heap = msg.pool ? bufferPool(systemHeap()) : msg.kernel ? kernelHeap('system') : systemHeap();
    for (let i = 0; i < msg.count; i++) {
      const buf = heap.allocate(msg.size, { name: `${msg.name}-${i}` });
      buf.withCpuAccess('write', (v) => v.fill(msg.fill));
      await sendBuffers(channel, [{ buffer: buf }], { i });
      buf.close();
    }
    heap.close();
  } else if (op === 'too-many-fds') {
    // Its stdin, n times over: any open fd will do.
    await reply({ op: 'too-many' }, Array.from({ length: msg.n }, () => 0));
    await reply({ op: 'after' });
  } else if (op === 'die-mid-frame') {
    const body = new TextEncoder().encode(JSON.stringify({ op: 'never finished', pad: 'x'.repeat(100) }));
    const frame = new Uint8Array(4 + 10);
    new DataView(frame.buffer).setUint32(0, body.length, true);
    frame.set(body.subarray(0, 10), 4);
    sendFds(3, frame, [0]);
    process.exit(0);
  } else if (op === 'bye') {
    await reply({ op: 'bye', fds: openFdCount(), rss: process.memoryUsage().rss });
    break;
  }
}
channel.close();
