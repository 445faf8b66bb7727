// Unix sockets on a path, with Node's own net module: a server whose connections become FdChannels (made with
// pauseOnConnect, so Node never reads from them), and a client that connects and hands its socket over at once.
import { EventEmitter } from 'node:events';
import { createConnection, createServer, type Server } from 'node:net';
import { FdChannel, type ChannelOptions } from './channel.js';

/** A listening Unix socket. Events: `'connection'` (an FdChannel), `'error'`, `'close'`. */
export class FdServer extends EventEmitter {
  readonly server: Server;

  constructor(server: Server, options?: ChannelOptions) {
    super();
    this.server = server;
    server.on('connection', (socket) => {
      try {
        this.emit('connection', FdChannel.fromSocket(socket, options));
      } catch (err) {
        this.emit('error', err);
      }
    });
    server.on('error', (err) => this.emit('error', err));
    server.on('close', () => this.emit('close'));
  }

  /** Stops accepting; channels already made stay open. */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Listens on a Unix socket path (stream). A `net.Server` of your own works as well: create it with
 * `{ pauseOnConnect: true }` and pass each connection to `FdChannel.fromSocket`.
 */
export function listen(path: string, options?: ChannelOptions): Promise<FdServer> {
  const server = createServer({ pauseOnConnect: true });
  const fds = new FdServer(server, options);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve(fds);
    });
  });
}

/** Connects to a Unix socket path (stream) and makes the connection an FdChannel. */
export function connect(path: string, options?: ChannelOptions): Promise<FdChannel> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    socket.once('error', reject);
    // Taken over in 'connect', before Node starts reading (it reads only after this event).
    socket.once('connect', () => {
      socket.off('error', reject);
      try {
        resolve(FdChannel.fromSocket(socket, options));
      } catch (err) {
        reject(err);
      }
    });
  });
}
