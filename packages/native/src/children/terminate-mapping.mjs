// @ts-check
// Run by native.test.ts (the addon as installed) and binding-asan.test.ts (an ASan build): workers that map and
// unmap a memfd and start poll watchers as fast as they can, with heap allocations queued on the thread pool (on
// a socket: ENOTTY) that complete only as the worker is torn down, are terminated mid-call, round after round.
// Node-API may fail a call in a terminating worker after taking what it was given (napi_wrap,
// napi_create_external_arraybuffer), so this is where a mapping record freed twice, or never, shows: before
// mappings were a table of ids this process died of glibc's "malloc_consolidate(): invalid chunk size" in most
// runs of 5 rounds, and leaked mappings; and before watchers were closed in an async cleanup hook, libuv called
// back into the library after Node had unloaded it (SIGSEGV). Prints the count of this memfd's mappings before
// and after, and the fds left open, as JSON.
// Usage: node terminate-mapping.mjs <addon.node> [rounds]
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const addon = /** @type {string} */ (process.argv[2]);
const rounds = Number(process.argv[3] ?? 20);
const NAME = `terminate-mapping-${process.pid}`;
const mappings = () => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes(`/memfd:${NAME}`)).length;
const WORKER = `
  const { parentPort, workerData } = require('node:worker_threads');
  const m = { exports: {} };
  process.dlopen(m, workerData.addon);
  const n = m.exports;
  const fd = n.memfdCreate(workerData.name, 1);
  n.ftruncate(fd, 1 << 16);
  const held = n.mmap(fd, 0, 1 << 16, 3); // one mapping the worker still holds when it dies
  const pair = new Int32Array(2);
  n.socketPair(n.constants.SOCK_STREAM, pair);
  parentPort.postMessage('ready');
  let queued = 0;
  for (let i = 0; ; i++) {
    if (queued < 8) queued++, n.heapAllocAsync(pair[0], 4096, 2, 0); // never awaited: the loop never yields
    n.munmap(n.mmap(fd, 0, 1 << 16, 3));
    const w = n.watch(pair[0], 4, () => {}); // poll watchers too, some left open (then -EEXIST: one per fd)
    if (i % 2 && typeof w !== 'number') n.unwatch(w);
  }
`;
const fds = () => readdirSync('/proc/self/fd').length;
void process.stdout; // opened first, so its fd (a pipe under a test runner) is counted on both sides
const before = mappings();
const fdsBefore = fds();
for (let round = 0; round < rounds; round++) {
  const w = new Worker(WORKER, { eval: true, workerData: { addon, name: NAME } });
  await new Promise((resolve) => w.once('message', resolve));
  await new Promise((resolve) => setTimeout(resolve, 2 + (round % 10) * 5));
  await w.terminate();
}
console.log(JSON.stringify({ rounds, before, after: mappings(), fdsLeft: fds() - fdsBefore }));
