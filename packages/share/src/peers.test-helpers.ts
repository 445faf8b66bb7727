// Peers in other processes for the share tests: Node (children/peer.mjs), Python's standard library only
// (children/peer.py) and C (children/peer.c, compiled on first use), each on one end of a stream socket pair
// passed as its fd 3, speaking the frames FdChannel speaks.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { closeFd, socketPair } from '@dmaheap/native';
import { FdChannel, type ChannelOptions, type Message } from './index.js';

export type PeerKind = 'node' | 'python' | 'c';
export const PEERS: PeerKind[] = ['node', 'python', 'c'];

const children = join(import.meta.dirname, 'children');
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/**
 * children/peer.c built once per content, into the package's .build directory, for this machine and (where the
 * cross-compiler is, as on the test bed's host and its x86 guest) for arm64: the arm64 guest has no compiler,
 * and npm test runs the x86 suites first.
 */
function cPeer(): string {
  const source = join(children, 'peer.c');
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12);
  const build = join(import.meta.dirname, '..', '.build');
  const out = (arch: string) => join(build, `peer-${hash}-${arch}`);
  if (process.arch === 'arm64') {
    if (!existsSync(out('arm64'))) throw new Error(`${out('arm64')} is built by the x86 runs of these tests (aarch64-linux-gnu-gcc); run them first`);
    return out('arm64');
  }
  mkdirSync(build, { recursive: true });
  if (!existsSync(out(process.arch))) execFileSync('gcc', ['-O1', '-Wall', '-o', out(process.arch), source]);
  if (!existsSync(out('arm64')) && existsSync('/usr/bin/aarch64-linux-gnu-gcc')) execFileSync('aarch64-linux-gnu-gcc', ['-O1', '-Wall', '-o', out('arm64'), source]);
  return out(process.arch);
}

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
    kind === 'node' ? [process.execPath, [join(children, 'peer.mjs')]] : kind === 'python' ? [python, [join(children, 'peer.py')]] : [cPeer(), []];
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
