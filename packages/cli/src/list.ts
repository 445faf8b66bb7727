import { buildSnapshot, type Snapshot } from './model.js';
import { scanProc } from './scan.js';

/** Every dma-buf held by a process this user can read (or by `pids`), as `dmaheap ls --json` prints it. */
export function listDmaBufs(options: { pids?: readonly number[] } = {}): Snapshot {
  return buildSnapshot(scanProc(), options.pids ? { pids: options.pids } : {});
}
