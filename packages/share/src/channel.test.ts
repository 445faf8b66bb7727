// FdChannel on the host's real kernel: Unix socket pairs and memfds (no dma-buf device is needed to pass fds).
// Framing, order, truncation, a peer that dies mid-message, back-pressure, fds counted before and after.
import { fstatSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeFd, ftruncate, memfdCreate, openFdCount, sendFds, socketPair } from '@dmaheap/native';
import { connect, FdChannel, listen, type Message } from './index.js';

const opened: Array<() => void> = [];
afterEach(() => opened.splice(0).forEach((f) => f()));

function pair(type: 'stream' | 'seqpacket', options?: { maxFds?: number; maxMessageBytes?: number }): [FdChannel, FdChannel] {
  const [a, b] = socketPair(type);
  const pair: [FdChannel, FdChannel] = [FdChannel.fromFd(a, options), FdChannel.fromFd(b, options)];
  opened.push(() => pair.forEach((c) => c.close()));
  return pair;
}

function memfd(size = 4096): number {
  const fd = memfdCreate('share-test');
  ftruncate(fd, size);
  return fd;
}

const ino = (fd: number) => fstatSync(fd).ino;

describe.each(['stream', 'seqpacket'] as const)('FdChannel over a %s socket pair', (type) => {
  it('carries bytes and fds in order; received fds are the same files, close-on-exec; nothing leaks', async () => {
    const start = openFdCount();
    const [a, b] = pair(type);
    const files = [memfd(), memfd(8192), memfd(12288)];
    const sent = Array.from({ length: 20 }, (_, i) => a.send(`message ${i}`, i % 3 === 0 ? files.slice(0, (i % 4) + 1) : []));
    const got: Message[] = [];
    for (let i = 0; i < 20; i++) got.push(await b.receive());
    await Promise.all(sent);
    for (const [i, m] of got.entries()) {
      expect(new TextDecoder().decode(m.data)).toBe(`message ${i}`);
      const expected = i % 3 === 0 ? files.slice(0, (i % 4) + 1) : [];
      expect(m.fds.map(ino)).toEqual(expected.map(ino));
      for (const fd of m.fds) closeFd(fd);
    }
    for (const fd of files) closeFd(fd);
    a.close();
    b.close();
    expect(openFdCount()).toBe(start);
  });

  it('keeps the event loop running while it waits, and delivers through events as well', async () => {
    const [a, b] = pair(type);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const waiting = b.receive();
    await new Promise((r) => setTimeout(r, 100));
    expect(ticks).toBeGreaterThan(5);
    await a.send('late');
    expect(new TextDecoder().decode((await waiting).data)).toBe('late');
    clearInterval(timer);
    const seen: string[] = [];
    b.on('message', (m: Message) => seen.push(new TextDecoder().decode(m.data)));
    await a.send('one');
    await a.send('two');
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual(['one', 'two']);
  });

  it('refuses a message with more fds than maxFds: a ProtocolError, every fd of it closed, the next message fine', async () => {
    const [x, y] = socketPair(type);
    const rx = FdChannel.fromFd(y, { maxFds: 2 });
    opened.push(() => rx.close(), () => closeFd(x));
    const files = [memfd(), memfd(), memfd()];
    const start = openFdCount();
    sendFds(x, frame(type, 'too many'), files);
    sendFds(x, frame(type, 'fine'), files.slice(0, 1));
    await expect(rx.receive()).rejects.toMatchObject({ code: 'ERR_DMAHEAP_PROTOCOL' });
    const ok = await rx.receive();
    expect(new TextDecoder().decode(ok.data)).toBe('fine');
    expect(ok.fds.length).toBe(1);
    closeFd(ok.fds[0]!);
    expect(openFdCount()).toBe(start);
    for (const fd of files) closeFd(fd);
  });

  it('sends through a full socket (back-pressure): 8 MiB in 256 messages, each with an fd, all in order', async () => {
    const [a, b] = pair(type, { maxMessageBytes: 64 * 1024 });
    const file = memfd();
    const payload = (i: number) => new Uint8Array(32 * 1024).fill(i & 0xff);
    const sends = Array.from({ length: 256 }, (_, i) => a.send(payload(i), [file]));
    await new Promise((r) => setTimeout(r, 20)); // the socket fills: sends wait for room
    for (let i = 0; i < 256; i++) {
      const m = await b.receive();
      expect(m.data.length).toBe(32 * 1024);
      expect(m.data[0]).toBe(i & 0xff);
      expect(m.data[m.data.length - 1]).toBe(i & 0xff);
      for (const fd of m.fds) closeFd(fd);
    }
    await Promise.all(sends);
    closeFd(file);
  });

  it('rejects pending receives with ClosedError when the peer closes, and its iterator ends', async () => {
    const [a, b] = pair(type);
    const pending = b.receive();
    a.close();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_DMAHEAP_CLOSED' });
    const [c, d] = pair(type);
    void c.send('last').then(() => c.close());
    const all: string[] = [];
    for await (const m of d) all.push(new TextDecoder().decode(m.data));
    expect(all).toEqual(['last']);
  });

  it('a peer that goes away without reading what it was sent: receive() rejects with ClosedError, and sends too', async () => {
    // The peer closing with unread data resets the socket (POLLERR here), which libuv reports as EBADF though
    // the fd is open: the channel must ask the socket itself and see a peer that went away.
    const fds = openFdCount();
    const [a, b] = pair(type);
    await a.send('never read');
    const pending = a.receive();
    b.close();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_DMAHEAP_CLOSED' });
    expect(a.closed).toBe(true);
    await expect(a.send('after')).rejects.toMatchObject({ code: 'ERR_DMAHEAP_CLOSED' });
    expect(openFdCount()).toBe(fds);
  });
});

/** What FdChannel sends on the wire for one message (a frame on a stream, the bytes on a seqpacket). */
function frame(type: 'stream' | 'seqpacket', text: string): Uint8Array {
  const body = new TextEncoder().encode(text);
  if (type === 'seqpacket') return body;
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length, true);
  out.set(body, 4);
  return out;
}

describe('FdChannel over a stream: framing', () => {
  it('assembles frames larger than one read (300 KiB) and frames split anywhere', async () => {
    const [x, y] = socketPair('stream');
    const rx = FdChannel.fromFd(y, { maxMessageBytes: 1 << 20 });
    opened.push(() => rx.close(), () => closeFd(x));
    const big = new Uint8Array(300 * 1024).map((_, i) => i % 251);
    const wire = new Uint8Array([...frame('stream', 'a'), ...(() => { const f = new Uint8Array(4 + big.length); new DataView(f.buffer).setUint32(0, big.length, true); f.set(big, 4); return f; })(), ...frame('stream', 'z')]);
    // Written in awkward pieces: 3 bytes, then 1, then the rest in 7001-byte slices.
    const receiving = [rx.receive(), rx.receive(), rx.receive()];
    for (const [from, to] of [[0, 3], [3, 4]]) sendFds(x, wire.subarray(from!, to!));
    for (let at = 4; at < wire.length; at += 7001) {
      for (;;) {
        try {
          sendFds(x, wire.subarray(at, Math.min(at + 7001, wire.length)));
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 1));
        }
      }
    }
    const [m1, m2, m3] = await Promise.all(receiving);
    expect(new TextDecoder().decode(m1!.data)).toBe('a');
    expect(Buffer.from(m2!.data).equals(Buffer.from(big))).toBe(true);
    expect(new TextDecoder().decode(m3!.data)).toBe('z');
  });

  it('a peer that dies in the middle of a frame: a ProtocolError, the fds of that frame closed, then close', async () => {
    const [x, y] = socketPair('stream');
    const rx = FdChannel.fromFd(y);
    opened.push(() => rx.close());
    const file = memfd();
    const start = openFdCount();
    const half = frame('stream', 'this frame never ends').subarray(0, 10);
    sendFds(x, half, [file]);
    closeFd(x);
    const closed = new Promise((r) => rx.once('close', r));
    await expect(rx.receive()).rejects.toMatchObject({ code: 'ERR_DMAHEAP_PROTOCOL' });
    await closed;
    expect(openFdCount()).toBe(start - 1 - 1); // x closed, rx's socket closed; the frame's fd closed too
    closeFd(file);
  });
});

describe('listen and connect on a path (net)', () => {
  it('a server and a client exchange fds both ways', async () => {
    const path = join(tmpdir(), `dmaheap-share-${process.pid}.sock`);
    rmSync(path, { force: true });
    const start = openFdCount();
    const server = await listen(path);
    const accepted = new Promise<FdChannel>((resolve) => server.once('connection', resolve));
    const client = await connect(path);
    const peer = await accepted;
    const file = memfd();
    await client.send('to server', [file]);
    const m = await peer.receive();
    expect(m.fds.map(ino)).toEqual([ino(file)]);
    await peer.send('back', m.fds);
    const back = await client.receive();
    expect(back.fds.map(ino)).toEqual([ino(file)]);
    for (const fd of [...m.fds, ...back.fds, file]) closeFd(fd);
    client.close();
    peer.close();
    await server.close();
    rmSync(path, { force: true });
    expect(openFdCount()).toBe(start);
  });
});
