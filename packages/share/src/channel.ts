// FdChannel: messages with fds over a Unix domain socket, driven by Node's event loop (a libuv poll watcher on
// the socket: no thread, no busy wait, no blocked loop). Boundary-keeping sockets (seqpacket, dgram) carry one
// message per datagram; stream sockets (what net and child_process give) carry frames: a 4-byte little-endian
// length, then that many bytes, the fds attached to the frame's first byte (one sendmsg per frame).
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { ClosedError, InvalidArgumentError, ProtocolError } from '@dmaheap/core';
import { closeFd, dupFd, FdWatcher, MAX_MESSAGE_FDS, recvFds, sendFds, socketType, type SocketType } from '@dmaheap/native';

/** A received message: its bytes and its fds, which are the receiver's now (close them, or importDmaBuf them). */
export interface Message {
  data: Uint8Array;
  fds: number[];
}

export interface ChannelOptions {
  /** Most fds one message may carry; a message with more is refused (ProtocolError) and every fd of it closed. Default 64. */
  maxFds?: number;
  /** Largest message in bytes; a longer one is refused (ProtocolError). Default 1 MiB. */
  maxMessageBytes?: number;
}

interface Outgoing {
  bytes: Uint8Array;
  fds: readonly number[];
  sent: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const HEADER = 4;

interface FrameRecord {
  data: Uint8Array | undefined;
  fds: number[];
  drop: boolean;
}

/**
 * A channel over one connected Unix socket. Events: `'message'` (a Message), `'error'` (a ProtocolError for a
 * malformed message, which is dropped with its fds closed; the channel goes on), `'close'`. Or pull messages with
 * `receive()` or `for await (const msg of channel)`. Reading happens only while someone waits for a message.
 */
export class FdChannel extends EventEmitter implements AsyncIterable<Message> {
  readonly type: SocketType;
  readonly #fd: number;
  readonly #maxFds: number;
  readonly #maxBytes: number;
  #closed = false;
  #watcher: FdWatcher | undefined;
  #watching = { readable: false, writable: false };
  readonly #outgoing: Outgoing[] = [];
  readonly #waiters: Array<{ resolve: (m: Message) => void; reject: (e: unknown) => void }> = [];
  readonly #ready: Message[] = [];
  #failure: unknown;
  // Stream framing: bytes of the frame being assembled, and the fds that came with its first byte.
  #frame: Uint8Array | undefined;
  #frameFill = 0;
  #header = new Uint8Array(HEADER);
  #headerFill = 0;
  /** The frame being assembled: its fds, and whether it is dropped when complete (its fds were refused). */
  #current: FrameRecord | undefined;
  /** A send waits for room in the socket. */
  #blocked = false;
  readonly #chunk: Uint8Array;

  private constructor(fd: number, options: ChannelOptions = {}) {
    super();
    const maxFds = options.maxFds ?? 64;
    const maxBytes = options.maxMessageBytes ?? 1 << 20;
    if (!Number.isInteger(maxFds) || maxFds < 0 || maxFds > MAX_MESSAGE_FDS) throw new InvalidArgumentError(`maxFds must be an integer from 0 to ${MAX_MESSAGE_FDS}, got ${String(maxFds)}`);
    if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new InvalidArgumentError(`maxMessageBytes must be a positive integer, got ${String(maxBytes)}`);
    this.type = socketType(fd);
    this.#fd = fd;
    this.#maxFds = maxFds;
    this.#maxBytes = maxBytes;
    // A datagram must fit whole (plus a byte, to see MSG_TRUNC); a stream is read in pieces.
    this.#chunk = new Uint8Array(this.type === 'stream' ? 64 * 1024 : maxBytes + 1);
    this.on('newListener', (event: string) => event === 'message' && queueMicrotask(() => this.#update()));
    this.on('removeListener', (event: string) => event === 'message' && this.#update());
  }

  /** A channel over a connected Unix socket fd (stream, seqpacket or dgram); it takes the fd over and closes it on close(). */
  static fromFd(fd: number, options?: ChannelOptions): FdChannel {
    return new FdChannel(fd, options);
  }

  /**
   * A channel over a connected `net.Socket` on a Unix path (from `net.connect({ path })` in its `'connect'`
   * event, or a `net.Server` made with `{ pauseOnConnect: true }`), or a child process's `'pipe'` stdio. The
   * channel takes a copy of the socket's fd and destroys the `net.Socket`, so Node never reads from it: data Node
   * already read (an unpaused socket) would have lost its fds, so hand the socket over before the peer sends.
   */
  static fromSocket(socket: Socket, options?: ChannelOptions): FdChannel {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) {
      throw new InvalidArgumentError('fromSocket needs a connected net.Socket over a Unix socket (it has no fd: not connected, or not a Unix socket)');
    }
    socket.pause();
    const copy = dupFd(fd);
    socket.destroy();
    try {
      return new FdChannel(copy, options);
    } catch (err) {
      closeFd(copy);
      throw err;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends `data` (bytes or a string, as UTF-8) with `fds` attached; the fds stay the caller's (the peer gets its
   * own). Messages go out in order; the promise resolves once this one is wholly in the socket.
   */
  send(data: Uint8Array | string, fds: readonly number[] = []): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('send() on a closed channel'));
    const body = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    if (!(body instanceof Uint8Array)) return Promise.reject(new InvalidArgumentError('send(data) needs a Uint8Array or a string'));
    if (body.byteLength > this.#maxBytes) return Promise.reject(new InvalidArgumentError(`a message of ${body.byteLength} bytes is over maxMessageBytes (${this.#maxBytes})`));
    if (fds.length > MAX_MESSAGE_FDS) return Promise.reject(new InvalidArgumentError(`a message carries at most ${MAX_MESSAGE_FDS} fds, got ${fds.length}`));
    if (this.type !== 'stream' && body.byteLength === 0) return Promise.reject(new InvalidArgumentError('a datagram needs at least one byte'));
    let bytes = body;
    if (this.type === 'stream') {
      bytes = new Uint8Array(HEADER + body.byteLength);
      new DataView(bytes.buffer).setUint32(0, body.byteLength, true);
      bytes.set(body, HEADER);
    }
    return new Promise<void>((resolve, reject) => {
      this.#outgoing.push({ bytes, fds: [...fds], sent: 0, resolve, reject });
      if (this.#outgoing.length === 1) this.#flush();
    });
  }

  /** The next message; rejects with ClosedError once the channel is closed (or the peer closed it). */
  receive(): Promise<Message> {
    const ready = this.#ready.shift();
    if (ready) return Promise.resolve(ready);
    if (this.#failure !== undefined) {
      const f = this.#failure;
      this.#failure = undefined;
      return Promise.reject(f);
    }
    if (this.#closed) return Promise.reject(new ClosedError('receive() on a closed channel'));
    return new Promise<Message>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#update();
    });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Message> {
    for (;;) {
      try {
        yield await this.receive();
      } catch (err) {
        if (ClosedError.isInstance(err)) return;
        throw err;
      }
    }
  }

  /** Closes the socket; pending sends and receives reject with ClosedError; fds of messages not taken are closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    closeFd(this.#fd);
    const closed = new ClosedError('the channel was closed');
    for (const o of this.#outgoing.splice(0)) o.reject(closed);
    for (const w of this.#waiters.splice(0)) w.reject(closed);
    for (const m of this.#ready.splice(0)) closeAll(m.fds);
    if (this.#current) closeAll(this.#current.fds.splice(0));
    this.emit('close');
  }

  /** Watch for what is needed now: readable while someone waits for a message, writable while sends wait. */
  #update(): void {
    if (this.#closed) return;
    const readable = this.#waiters.length > 0 || this.listenerCount('message') > 0;
    const writable = this.#outgoing.length > 0 && this.#blocked;
    if (readable === this.#watching.readable && writable === this.#watching.writable) return;
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#watching = { readable, writable };
    if (!readable && !writable) return;
    this.#watcher = new FdWatcher(this.#fd, this.#watching, (ready, error) => {
      if (error) return this.#pollError(error);
      if (ready.writable) this.#flush();
      if (ready.readable || ready.disconnect) this.#read();
    });
  }

  #flush(): void {
    while (!this.#closed && this.#outgoing.length > 0) {
      const o = this.#outgoing[0]!;
      let n: number;
      try {
        // The fds go with the first byte only.
        n = sendFds(this.#fd, o.bytes.subarray(o.sent), o.sent === 0 ? o.fds : []);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          this.#blocked = true;
          this.#update();
          return;
        }
        this.#outgoing.shift();
        o.reject(err);
        if ((err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET') this.close();
        continue;
      }
      o.sent += n;
      if (o.sent < o.bytes.byteLength) continue;
      this.#outgoing.shift();
      o.resolve();
    }
    this.#blocked = false;
    this.#update();
  }

  #read(): void {
    while (!this.#closed && (this.#waiters.length > 0 || this.listenerCount('message') > 0)) {
      let r;
      try {
        r = recvFds(this.#fd, this.#chunk, this.#maxFds);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') return;
        if (code === 'ECONNRESET') return this.#peerClosed();
        return this.#fail(err);
      }
      if (r.bytes === 0 && r.fds.length === 0) return this.#peerClosed();
      if (r.fdsTruncated) {
        closeAll(r.fds);
        this.#protocolError(`a message carried more fds than maxFds (${this.#maxFds}): it was dropped and its fds closed`);
        if (this.type === 'stream') {
          // Its bytes are part of the stream: read them, and drop the frame the fds belonged to (the last one
          // starting in this read; see #assemble).
          this.#assemble(this.#chunk.subarray(0, r.bytes), [], true);
        }
        continue;
      }
      if (this.type !== 'stream') {
        if (r.dataTruncated) {
          closeAll(r.fds);
          this.#protocolError(`a message was longer than maxMessageBytes (${this.#maxBytes}) and was dropped`);
          continue;
        }
        this.#deliver({ data: this.#chunk.slice(0, r.bytes), fds: r.fds });
        continue;
      }
      this.#assemble(this.#chunk.subarray(0, r.bytes), r.fds);
    }
    this.#update();
  }

  /**
   * Stream framing. A stream read ends right after the first piece of data that carried fds (the kernel's
   * unix_stream_read_generic), and a frame's fds come with its first byte: so the fds of a read belong to the
   * last frame that starts in it. `refused`: the read's fds were refused (too many): that frame is dropped.
   */
  #assemble(chunk: Uint8Array, fds: number[], refused = false): void {
    const done: FrameRecord[] = [];
    let lastStarted: FrameRecord | undefined;
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.#frame === undefined) {
        if (this.#headerFill === 0) lastStarted = this.#current = { data: undefined, fds: [], drop: false };
        const take = Math.min(HEADER - this.#headerFill, chunk.byteLength - at);
        this.#header.set(chunk.subarray(at, at + take), this.#headerFill);
        this.#headerFill += take;
        at += take;
        if (this.#headerFill < HEADER) break;
        const length = new DataView(this.#header.buffer).getUint32(0, true);
        this.#headerFill = 0;
        if (length > this.#maxBytes) {
          // The stream cannot be resynchronised after a frame this channel will not read: it is broken.
          closeAll(fds);
          this.#protocolError(`a frame of ${length} bytes is over maxMessageBytes (${this.#maxBytes}): the channel closes`);
          this.close();
          return;
        }
        this.#frame = new Uint8Array(length);
        this.#frameFill = 0;
      }
      const take = Math.min(this.#frame.byteLength - this.#frameFill, chunk.byteLength - at);
      this.#frame.set(chunk.subarray(at, at + take), this.#frameFill);
      this.#frameFill += take;
      at += take;
      if (this.#frameFill === this.#frame.byteLength) {
        this.#current!.data = this.#frame;
        done.push(this.#current!);
        this.#current = undefined;
        this.#frame = undefined;
      }
    }
    if (refused || fds.length > 0) {
      if (lastStarted === undefined) {
        closeAll(fds);
        if (!refused) this.#protocolError('fds arrived in the middle of a frame (the peer does not frame as this channel does): they were closed');
      } else if (refused) {
        lastStarted.drop = true;
      } else {
        lastStarted.fds.push(...fds);
      }
    }
    for (const m of done) {
      if (m.drop) closeAll(m.fds);
      else this.#deliver({ data: m.data!, fds: m.fds });
    }
  }

  #deliver(message: Message): void {
    const w = this.#waiters.shift();
    if (w) w.resolve(message);
    else if (this.listenerCount('message') > 0) this.emit('message', message);
    else this.#ready.push(message);
  }

  #protocolError(message: string): void {
    const err = new ProtocolError(message);
    const w = this.#waiters.shift();
    if (w) w.reject(err);
    else if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.#failure = err;
  }

  #peerClosed(): void {
    if (this.#frame !== undefined || this.#headerFill > 0) {
      if (this.#current) closeAll(this.#current.fds.splice(0));
      this.#protocolError(`the peer closed the socket in the middle of a message (${this.#frameFill} of ${this.#frame?.byteLength ?? '?'} bytes)`);
    }
    this.close();
  }

  /**
   * libuv stops a watcher on POLLERR and reports it as EBADF, though the fd is still this channel's (a peer that
   * closed with data unread resets the socket). The socket's own error comes from the next send or receive
   * (EPIPE, ECONNRESET: a peer that went away, and the channel closes); only if neither shows one is it reported.
   */
  #pollError(err: Error): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#watching = { readable: false, writable: false };
    if (this.#outgoing.length > 0) this.#flush();
    if (!this.#closed) this.#read();
    if (!this.#closed && this.#watcher === undefined && (this.#waiters.length > 0 || this.#outgoing.length > 0)) this.#fail(err);
  }

  #fail(err: unknown): void {
    const w = this.#waiters.shift();
    if (w) w.reject(err);
    else if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.#failure = err;
    this.close();
  }
}

function closeAll(fds: number[]): void {
  for (const fd of fds) closeFd(fd);
}
