// @ts-check
// Run by native.vm.test.ts: workers keep four heap allocations in flight on libuv's thread pool (the raw addon's
// heapAllocAsync, each allocation followed by the next), closing every other fd they get and keeping the rest,
// and are terminated, round after round. The fds a worker kept are closed by its teardown; an allocation that
// completes while the worker is torn down cannot settle its promise, and the addon closes its fd. Prints, as
// JSON, the allocations settled, those still in flight when their worker was terminated, and the fds and
// dma-buf fds left open in this process.
// Usage: node terminate-alloc.mjs <addon.node> <heap node> <bytes> [rounds]
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const [addon, heap] = /** @type {[string, string]} */ (process.argv.slice(2, 4));
const size = Number(process.argv[4]);
const rounds = Number(process.argv[5] ?? 10);
const WORKER = `
  const { parentPort, workerData } = require('node:worker_threads');
  const m = { exports: {} };
  process.dlopen(m, workerData.addon);
  const n = m.exports;
  const C = n.constants;
  const counts = new Int32Array(workerData.counts); // [queued, settled]
  const heapFd = n.open(workerData.heap, C.O_RDONLY | C.O_CLOEXEC, 0);
  const next = () => {
    Atomics.add(counts, 0, 1);
    n.heapAllocAsync(heapFd, workerData.size, C.O_RDWR | C.O_CLOEXEC, 0).then((fd) => {
      const settled = Atomics.add(counts, 1, 1) + 1;
      if (fd < 0) throw new Error('heapAllocAsync: ' + fd);
      if (settled === 1) parentPort.postMessage('ready');
      if (settled % 2) n.close(fd);
      next();
    });
  };
  for (let i = 0; i < 4; i++) next();
`;
const fds = () => readdirSync('/proc/self/fd');
const dmabufs = () =>
  fds().filter((fd) => {
    try {
      return /^exp_name:/m.test(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    } catch {
      return false;
    }
  }).length;
void process.stdout; // opened first, so its fd (a pipe under a test runner) is counted on both sides
const fdsBefore = fds().length;
const dmabufsBefore = dmabufs();
let settled = 0;
let inFlight = 0;
for (let round = 0; round < rounds; round++) {
  const counts = new SharedArrayBuffer(8);
  const w = new Worker(WORKER, { eval: true, workerData: { addon, heap, size, counts } });
  await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await new Promise((resolve) => setTimeout(resolve, 3 + (round % 5) * 8));
  await w.terminate();
  const c = new Int32Array(counts);
  settled += /** @type {number} */ (c[1]);
  inFlight += /** @type {number} */ (c[0]) - /** @type {number} */ (c[1]);
}
console.log(JSON.stringify({ rounds, settled, inFlight, fdsLeft: fds().length - fdsBefore, dmabufsLeft: dmabufs() - dmabufsBefore }));
