// Peers in other processes for the share tests: Node (children/peer.mjs), Python's standard library only
// (children/peer.py) and C (children/peer.c, built by cHelper for this machine and arm64), each on one end of
// a stream socket pair passed as its fd 3, speaking the frames FdChannel speaks.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { closeFd, socketPair } from '@dmaheap/native';
import { cHelper } from '@dmaheap/vm/guest';
import { FdChannel, type ChannelOptions, type Message } from './index.js';

export type PeerKind = 'node' | 'python' | 'c';
export const PEERS: PeerKind[] = ['node', 'python', 'c'];

const children = join(import.meta.dirname, 'children');
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export interface Peer {
  kind: PeerKind;
  child: ChildProcess;
  channel: FdChannel;
  exited: Promise<number | null>;
  /** Sends a JSON command (with fds) and, unless `noReply`, returns the next message parsed. */
  ask(command: object, fds?: number[]): Promise<Record<string, unknown>>;
  next(): Promise<{ json: Record<string, unknown>; message: Message }>;
}

export function startPeer(kind: PeerKind, options?: ChannelOptions): Peer {
  const [ours, theirs] = socketPair('stream');
  const [command, args] =
    kind === 'node' ? [process.execPath, [join(children, 'peer.mjs')]] : kind === 'python' ? [python, [join(children, 'peer.py')]] : [cHelper(join(children, 'peer.c'), join(import.meta.dirname, '..', '.build')), []];
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', theirs] });
  closeFd(theirs);
  const channel = FdChannel.fromFd(ours, options);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const next = async () => {
    const message = await channel.receive();
    return { json: JSON.parse(new TextDecoder().decode(message.data)) as Record<string, unknown>, message };
  };
  return {
    kind,
    child,
    channel,
    exited,
    next,
    async ask(cmd, fds = []) {
      await channel.send(JSON.stringify(cmd), fds);
      return (await next()).json;
    },
  };
}
