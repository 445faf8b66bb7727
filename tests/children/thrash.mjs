// @ts-check
// Memory pressure inside a small memory cgroup (recycle.vm.test.ts): reads a file in 1 MiB pieces, over and
// over, from the line `go` until its stdin ends, so every read reclaims the cgroup's page cache and refaults
// it. Reports each pass as `pass <n> <bytes> <ms>`. Usage: node thrash.mjs <file>
import { closeSync, openSync, readSync } from 'node:fs';
import { createInterface } from 'node:readline';

let stop = false;
/** @type {() => void} */
let go = () => {};
const started = new Promise((/** @type {(v?: unknown) => void} */ r) => (go = r));
createInterface({ input: process.stdin })
  .on('line', (l) => l === 'go' && go())
  .on('close', () => {
    stop = true;
    go();
  });
console.log('ready');
await started;
const buf = Buffer.alloc(1 << 20);
let passes = 0;
let bytes = 0;
const t0 = Date.now();
while (!stop) {
  const fd = openSync(/** @type {string} */ (process.argv[2]), 'r');
  for (let off = 0, i = 0; !stop; off += buf.length, i++) {
    const n = readSync(fd, buf, 0, buf.length, off);
    bytes += n;
    if (n < buf.length) break;
    if (i % 8 === 7) await new Promise((r) => setImmediate(r));
  }
  closeSync(fd);
  console.log('pass ' + ++passes + ' ' + bytes + ' ' + (Date.now() - t0));
}
