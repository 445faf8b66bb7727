// fds over Unix domain sockets (SCM_RIGHTS), non-blocking: one sendmsg or recvmsg per call. @dmaheap/share
// builds its channels (framing, waiting on the event loop, buffer descriptions) on these.
import { constants as C, native } from './binding.js';
import { invalidArgument, systemError } from './errors.js';
import { check, checkFd, describe } from './validate.js';

/** The most fds one message carries (SCM_MAX_FD). */
export const MAX_MESSAGE_FDS = 253;

/** A Unix socket's type. */
export type SocketType = 'stream' | 'seqpacket' | 'dgram';

/** The type of a Unix domain socket; throws for fds that are not one (ENOTSOCK, EAFNOSUPPORT). */
export function socketType(fd: number): SocketType {
  checkFd(fd);
  const t = check(native.socketType(fd), 'getsockopt(SO_TYPE)', { fd });
  if (t === C.SOCK_STREAM) return 'stream';
  if (t === C.SOCK_SEQPACKET) return 'seqpacket';
  if (t === C.SOCK_DGRAM) return 'dgram';
  throw systemError('getsockopt(SO_TYPE)', -95 /* EOPNOTSUPP */, { fd });
}

/**
 * A connected pair of Unix sockets, close-on-exec (`socketpair`): one end for this process, the other to hand to
 * a child (as one of its stdio fds) or a worker. Close both with closeFd.
 */
export function socketPair(type: 'stream' | 'seqpacket' = 'seqpacket'): [number, number] {
  const t = type === 'stream' ? C.SOCK_STREAM : type === 'seqpacket' ? C.SOCK_SEQPACKET : undefined;
  if (t === undefined) throw invalidArgument(`The "type" argument must be 'stream' or 'seqpacket'. Received ${describe(type)}`);
  const out = new Int32Array(2);
  check(native.socketPair(t, out), 'socketpair');
  return [out[0]!, out[1]!];
}

const sendScratch = new Int32Array(MAX_MESSAGE_FDS);
const recvScratch = new Int32Array(MAX_MESSAGE_FDS);

/**
 * Sends `data` (at least a byte) with `fds` attached (SCM_RIGHTS), without blocking (MSG_DONTWAIT, and
 * MSG_NOSIGNAL: a gone peer is EPIPE, not SIGPIPE). Returns the bytes sent: on a stream socket possibly fewer
 * than asked (the fds went with the first of them). Throws EAGAIN when the socket is full: wait until writable.
 * The fds stay the caller's: the receiver gets its own copies.
 */
export function sendFds(sock: number, data: Uint8Array, fds: readonly number[] = []): number {
  checkFd(sock, 'sock');
  if (!(data instanceof Uint8Array) || data.byteLength === 0) throw invalidArgument(`The "data" argument must be a non-empty Uint8Array. Received ${describe(data)}`);
  if (!Array.isArray(fds) || fds.length > MAX_MESSAGE_FDS) throw invalidArgument(`The "fds" argument must be an array of at most ${MAX_MESSAGE_FDS} fds`);
  fds.forEach((fd, i) => {
    checkFd(fd, `fds[${i}]`);
    sendScratch[i] = fd;
  });
  return check(native.sendFds(sock, data, sendScratch, fds.length), 'sendmsg', { fd: sock });
}

/** One received message (or, on a stream socket, what one recvmsg returned). */
export interface Received {
  /** Bytes read into the buffer (0: the peer closed the socket). */
  bytes: number;
  /** fds received: the caller's now (recorded as owned by this thread, close with closeFd). */
  fds: number[];
  /** More fds came than `maxFds` allowed (MSG_CTRUNC): the kernel closed the rest; `fds` holds what fit. */
  fdsTruncated: boolean;
  /** A datagram was longer than the buffer (MSG_TRUNC, seqpacket and dgram): the rest is lost. */
  dataTruncated: boolean;
}

const meta = new Int32Array(3);

/**
 * Receives into `buffer` without blocking (MSG_DONTWAIT), fds close-on-exec (MSG_CMSG_CLOEXEC), at most
 * `maxFds` of them (more are closed by the kernel and reported as `fdsTruncated`). Throws EAGAIN when nothing
 * is there yet: wait until readable.
 */
export function recvFds(sock: number, buffer: Uint8Array, maxFds = MAX_MESSAGE_FDS): Received {
  checkFd(sock, 'sock');
  if (!(buffer instanceof Uint8Array) || buffer.byteLength === 0) throw invalidArgument(`The "buffer" argument must be a non-empty Uint8Array. Received ${describe(buffer)}`);
  if (!Number.isInteger(maxFds) || maxFds < 0 || maxFds > MAX_MESSAGE_FDS) throw invalidArgument(`The "maxFds" argument must be an integer from 0 to ${MAX_MESSAGE_FDS}. Received ${describe(maxFds)}`, 'ERR_OUT_OF_RANGE');
  const fds = maxFds === MAX_MESSAGE_FDS ? recvScratch : recvScratch.subarray(0, maxFds);
  check(native.recvFds(sock, buffer, fds, meta), 'recvmsg', { fd: sock });
  return {
    bytes: meta[0]!,
    fds: Array.from(fds.subarray(0, meta[1]!)),
    fdsTruncated: (meta[2]! & C.MSG_CTRUNC) !== 0,
    dataTruncated: (meta[2]! & C.MSG_TRUNC) !== 0,
  };
}
