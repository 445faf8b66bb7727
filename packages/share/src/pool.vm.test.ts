// The cross-process pool, on the real kernel (the VM): a producer allocates frames from bufferPool(systemHeap())
// and sends them to a consumer process, several in flight; the consumer checks each, holds it a while, writes a
// marker into it halfway through, then closes it. The pool may hand a buffer out again only after the consumer
// let go: a buffer handed out while the consumer still held it would show the marker. None may.
import { describe, expect, it } from 'vitest';
import { openFdCount } from '@dmaheap/native';
import { bufferPool } from '@dmaheap/pagepool';
import { systemHeap } from '@dmaheap/system-heap';
import { planeLayout, sendBuffers } from './index.js';
import { startPeer } from './peers.test-helpers.js';

const MARKER = 0xee;

describe('a pool shared with a consumer process', () => {
  it('never hands out a buffer the consumer still holds: the consumer\'s marker is never seen', async () => {
    const start = openFdCount();
    const peer = startPeer('node');
    await peer.ask({ op: 'hello' });
    const pool = bufferPool(systemHeap(), { deferredCheckMs: 5 });
    const layout = planeLayout('YUYV', 640, 480);
    const FRAMES = 120;
    const IN_FLIGHT = 4;
    let sightings = 0;
    let replies = 0;
    const inFlight: Array<Promise<unknown>> = [];
    try {
      for (let i = 0; i < FRAMES; i++) {
        if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
        const buf = pool.allocate(layout.size);
        const fill = 1 + (i % 200);
        // Handed out: it must hold zeroes only, never what the consumer wrote into an earlier frame.
        buf.withCpuAccess('readwrite', (v) => {
          if (v.includes(MARKER)) sightings++;
          v.fill(fill);
        });
        await sendBuffers(peer.channel, [{ buffer: buf, layout }], { op: 'consume', fill, marker: MARKER, holdMs: 30 });
        // Closed at once: the pool takes it back only when the consumer's fd and mapping are gone.
        buf.close();
        inFlight.push(
          peer.next().then(({ json }) => {
            replies++;
            expect((json['results'] as Array<{ ok: boolean }>)[0]!.ok, `frame ${i} as the consumer saw it`).toBe(true);
          }),
        );
      }
      await Promise.all(inFlight);
      const bye = await peer.ask({ op: 'bye' });
      expect(bye['op']).toBe('bye');
      await peer.exited;
      await new Promise((r) => setTimeout(r, 50));
      pool.collectDeferred();
      const s = pool.stats();
      console.log(`[share] pool across processes: ${FRAMES} frames, ${IN_FLIGHT} in flight, consumer held each 30 ms; hits ${s['hits']}, misses ${s['misses']}, zeroed ${s['zeroed']}, marker seen ${sightings} times`);
      expect(replies).toBe(FRAMES);
      expect(sightings).toBe(0);
      expect(s['hits'] as number, 'the pool did recycle (else the test proves nothing)').toBeGreaterThan(FRAMES / 2);
      expect(s['deferredPending']).toBe(0);
    } finally {
      peer.channel.close();
      pool.close();
    }
    expect(openFdCount()).toBe(start);
  });
});
