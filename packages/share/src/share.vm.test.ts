// Sharing dma-bufs with running processes, on the real kernel (the VM): a Node, a Python (standard library only)
// and a C peer, each on a stream socket passed as its fd 3. Both directions, fds counted on both sides before
// and after; a peer that dies mid-message; a peer that sends more fds than asked for; 10 000 buffers passed with
// RSS and fds flat.
import { describe, expect, it } from 'vitest';
import { openFdCount } from '@dmaheap/native';
import { bufferPool } from '@dmaheap/pagepool';
import { systemHeap } from '@dmaheap/system-heap';
import { planeLayout, receiveBuffers, sendBuffers } from './index.js';
import { PEERS, startPeer } from './peers.test-helpers.js';

interface Result {
  ok: boolean;
  size: number;
  exporter: string;
  name: string;
}

describe.each(PEERS)('with a %s peer', (kind) => {
  it('Node produces, the peer consumes: described buffers, checked byte for byte there, every fd closed on both sides', async () => {
    const start = openFdCount();
    const peer = startPeer(kind);
    const hello = await peer.ask({ op: 'hello' });
    const heap = systemHeap();
    const layout = planeLayout('NV12', 640, 480);
    const N = 24;
    let fdsSent = 0;
    try {
      for (let i = 0; i < N; i++) {
        const buf = heap.allocate(layout.size, { name: `frame-${i}` });
        buf.withCpuAccess('write', (v) => v.fill(i + 1));
        await sendBuffers(peer.channel, [{ buffer: buf, layout }], { op: 'consume', fill: i + 1 });
        fdsSent++;
        const { json } = await peer.next();
        expect(json['op']).toBe('consumed');
        expect(json['results']).toEqual([{ ok: true, size: buf.size, exporter: 'udmabuf', name: `frame-${i}` } satisfies Result]);
        buf.close();
      }
      const bye = await peer.ask({ op: 'bye' });
      expect(bye['fds'], `${kind} peer's open fds at the end, against its start`).toBe(hello['fds']);
      expect(await peer.exited).toBe(0);
      console.log(`[share] node -> ${kind}: ${N} messages, ${fdsSent} fds; peer fds ${hello['fds']} -> ${bye['fds']}`);
    } finally {
      peer.channel.close();
      heap.close();
    }
    expect(openFdCount()).toBe(start);
  });

  it('the peer produces (its own dma-bufs from /dev/dma_heap/system), Node consumes them as DmaBufs', async () => {
    const start = openFdCount();
    const peer = startPeer(kind);
    const hello = await peer.ask({ op: 'hello' });
    const N = 16;
    const size = 64 * 1024;
    await peer.channel.send(JSON.stringify({ op: 'produce', count: N, size, fill: 0x5a, name: kind }));
    for (let i = 0; i < N; i++) {
      const { buffers, meta } = await receiveBuffers(peer.channel);
      expect(meta).toEqual({ i });
      expect(buffers).toHaveLength(1);
      const { buffer, description } = buffers[0]!;
      try {
        expect(description).toMatchObject({ size, name: `${kind}-${i}` });
        expect(buffer.size).toBe(size);
        expect(buffer.heap.name).toBe('import');
        // Python and C allocate from the kernel's system heap; the Node peer from systemHeap() (udmabuf).
        expect(buffer.info()).toMatchObject({ exporter: kind === 'node' ? 'udmabuf' : 'system', name: `${kind}-${i}` });
        expect(buffer.withCpuAccess('read', (v) => v.every((b) => b === 0x5a))).toBe(true);
      } finally {
        buffer.close();
      }
    }
    const bye = await peer.ask({ op: 'bye' });
    expect(bye['fds']).toBe(hello['fds']);
    expect(await peer.exited).toBe(0);
    peer.channel.close();
    expect(openFdCount()).toBe(start);
    console.log(`[share] ${kind} -> node: ${N} messages, ${N} fds; peer fds ${hello['fds']} -> ${bye['fds']}; ours ${start} -> ${openFdCount()}`);
  });

  it('a peer that dies in the middle of a message: a ProtocolError, the fd it sent closed, nothing left open', async () => {
    const start = openFdCount();
    const peer = startPeer(kind);
    await peer.ask({ op: 'hello' });
    await peer.channel.send(JSON.stringify({ op: 'die-mid-frame' }));
    await expect(peer.channel.receive()).rejects.toMatchObject({ code: 'ERR_DMAHEAP_PROTOCOL' });
    expect(await peer.exited).toBe(0);
    expect(peer.channel.closed).toBe(true);
    expect(openFdCount()).toBe(start);
  });

  it('a peer that sends more fds than asked for: that message refused with its fds closed, the next one read', async () => {
    const start = openFdCount();
    const peer = startPeer(kind, { maxFds: 2 });
    const hello = await peer.ask({ op: 'hello' });
    await peer.channel.send(JSON.stringify({ op: 'too-many-fds', n: 8 }));
    await expect(peer.channel.receive()).rejects.toMatchObject({ code: 'ERR_DMAHEAP_PROTOCOL' });
    const after = await peer.next();
    expect(after.json).toEqual({ op: 'after' });
    expect(after.message.fds).toEqual([]);
    expect(openFdCount()).toBe(start + 1); // the channel's own socket
    const bye = await peer.ask({ op: 'bye' });
    expect(bye['fds']).toBe(hello['fds']);
    await peer.exited;
    peer.channel.close();
    expect(openFdCount()).toBe(start);
  });
});

describe('10 000 buffers to a Node consumer', () => {
  it('pass with fds and RSS flat on both sides', async () => {
    const start = openFdCount();
    const peer = startPeer('node');
    const hello = await peer.ask({ op: 'hello' });
    const heap = bufferPool(systemHeap());
    const rss: number[] = [];
    const N = 10_000;
    const t0 = Date.now();
    try {
      // Eight in flight: the producer allocates and sends while the consumer works through earlier ones.
      const replies: Array<Promise<void>> = [];
      for (let i = 0; i < N; i++) {
        if (replies.length >= 8) await replies.shift();
        const buf = heap.allocate(64 * 1024);
        buf.withCpuAccess('write', (v) => {
          v[0] = i & 0xff;
          v[v.length - 1] = i & 0xff;
        });
        // The consumer imports it, reads its first and last byte, closes it and says what it read.
        await sendBuffers(peer.channel, [{ buffer: buf }], { op: 'touch' });
        buf.close(); // the pool takes it back once the consumer let go
        replies.push(peer.next().then(({ json }) => expect(json).toEqual({ op: 'touched', first: i & 0xff, last: i & 0xff })));
        if (i === 1999 || i === N - 1) rss.push(process.memoryUsage().rss);
      }
      await Promise.all(replies);
      const bye = await peer.ask({ op: 'bye' });
      expect(bye['fds']).toBe(hello['fds']);
      const s = heap.stats();
      console.log(
        `[share] ${N} buffers to a Node consumer in ${((Date.now() - t0) / 1000).toFixed(1)} s; our RSS ${(rss[0]! / 2 ** 20).toFixed(1)} -> ${(rss[1]! / 2 ** 20).toFixed(1)} MiB ` +
          `(after 2000 and ${N}), the consumer's ${((hello['rss'] as number) / 2 ** 20).toFixed(1)} -> ${((bye['rss'] as number) / 2 ** 20).toFixed(1)} MiB; peer fds ${hello['fds']} -> ${bye['fds']}; pool hits ${s['hits']}, misses ${s['misses']}`,
      );
      // Flat: within 16 MiB between the 2000th and the last buffer (V8's heap and the pool settle by then).
      expect(rss[1]! - rss[0]!).toBeLessThan(16 * 2 ** 20);
      expect((bye['rss'] as number) - (hello['rss'] as number)).toBeLessThan(48 * 2 ** 20);
      await peer.exited;
    } finally {
      peer.channel.close();
      heap.close();
    }
    expect(openFdCount()).toBe(start);
  }, 600_000);
});
