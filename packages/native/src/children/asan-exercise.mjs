// @ts-check
// Run by binding-asan.test.ts under AddressSanitizer: loads an ASan build of the addon (argv[2]) with
// process.dlopen, twice in one environment and in a worker, and drives the paths where memory is freed by one
// owner while another still refers to it: mappings detached by a transfer and collected, unmapped twice,
// fds left open in a terminated worker, an allocation job's completion. Prints `ok`; ASan aborts the process on
// any use after free.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

/** @param {string} file */
function load(file) {
  const m = { exports: /** @type {any} */ ({}) };
  process.dlopen(m, file);
  return m.exports;
}

const gc = /** @type {() => void} */ (/** @type {any} */ (globalThis).gc);
const collect = async () => {
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
};

if (!isMainThread) {
  // A worker that opens fds and mappings and is terminated without closing any of them.
  const n = load(workerData);
  for (let i = 0; i < 8; i++) {
    const fd = n.memfdCreate('asan-worker', 1);
    n.ftruncate(fd, 1 << 16);
    new Uint8Array(n.mmap(fd, 0, 1 << 16, 3)).fill(i);
  }
  parentPort?.postMessage('ready');
  setInterval(() => {}, 1000);
} else {
  const file = /** @type {string} */ (process.argv[2]);
  const n = load(file);
  const again = load(file); // a second instance in the same environment: its own instance data
  const out = [];
  for (const b of [n, again]) {
    const fd = b.memfdCreate('asan', 1);
    b.ftruncate(fd, 1 << 16);
    // Transferred, the new ArrayBuffer collected first: the old one still carries the wrap.
    /** @type {any} */
    let ab = b.mmap(fd, 0, 1 << 16, 3);
    /** @type {any} */
    let moved = ab.transfer();
    new Uint8Array(moved).fill(1);
    moved = undefined;
    await collect();
    out.push(b.mappingAddress(ab), b.madvise(ab, 0, 4096, 4), b.munmap(ab));
    // Unmapped through the old ArrayBuffer while the new one lives: the memory stays mapped (1).
    ab = b.mmap(fd, 0, 1 << 16, 3);
    moved = ab.transfer();
    out.push(b.munmap(ab));
    new Uint8Array(moved).fill(3);
    moved = undefined;
    await collect();
    // Transferred, the old ArrayBuffer collected first.
    ab = b.mmap(fd, 0, 1 << 16, 3);
    moved = ab.transfer();
    ab = undefined;
    await collect();
    new Uint8Array(moved).fill(2);
    moved = undefined;
    await collect();
    // Unmapped twice, then collected.
    ab = b.mmap(fd, 0, 1 << 16, 3);
    out.push(b.munmap(ab), b.munmap(ab));
    ab = undefined;
    await collect();
    // An allocation on the thread pool, completed on this thread (a memfd is no heap: ENOTTY).
    out.push(await b.heapAllocAsync(fd, 4096, 2, 0));
    b.close(fd);
  }
  const worker = new Worker(new URL(import.meta.url), { workerData: file });
  await new Promise((resolve) => worker.once('message', resolve));
  await worker.terminate();
  await collect();
  console.log(JSON.stringify(out.map(String)));
  console.log('ok');
}
