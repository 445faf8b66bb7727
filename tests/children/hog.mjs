// @ts-check
// Memory pressure on the whole guest (recycle.vm.test.ts, DMAHEAP_GUEST_PRESSURE=1): takes memory until the
// guest's free memory nears the kernel's min watermark. It holds shmem, a memfd grown with fallocate (the fastest
// way to take memory under emulation: the kernel zeroes each page once, about 160 MiB/s per thread, so two
// threads do the bulk). Its oom_score_adj is 1000: if the OOM killer runs, it kills this child. It gives
// everything back when its stdin ends. Progress lines: `what bytesTaken MemFree MemAvailable`.
import { readFileSync, writeFileSync } from 'node:fs';
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import { fallocate, ftruncate, memfdCreate } from '@dmaheap/native';

const MiB = 1 << 20;
/** fallocate `len` bytes of `fd` from `off`, 128 MiB at a time. @param {number} fd @param {number} off @param {number} len */
function fill(fd, off, len) {
  for (let o = 0; o < len; o += 128 * MiB) fallocate(fd, off + o, Math.min(128 * MiB, len - o));
}

if (!isMainThread) {
  fill(workerData.fd, workerData.off, workerData.len);
} else {
  try {
    writeFileSync('/proc/self/oom_score_adj', '1000');
  } catch {}
  /** @param {string} f */
  const mi = (f) => Number(new RegExp('^' + f + ':\\s+(\\d+) kB', 'm').exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024;
  const floor = Number(readFileSync('/proc/sys/vm/min_free_kbytes', 'utf8')) * 1024 + 8 * MiB;
  const fd = memfdCreate('memory-pressure');
  ftruncate(fd, 16 * 2 ** 30);
  let size = 0;
  let stop = false;
  let last = 0;
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => {
    stop = true;
  });
  /** @param {string} what */
  const report = (what) => console.log(what + ' ' + size + ' ' + mi('MemFree') + ' ' + mi('MemAvailable'));
  report('start');
  const bulk = Math.max(0, Math.floor((mi('MemAvailable') - 128 * MiB) / MiB / 2) * MiB);
  const worker = new Worker(new URL(import.meta.url), { workerData: { fd, off: bulk, len: bulk } });
  const done = new Promise((resolve, reject) => {
    worker.on('exit', resolve);
    worker.on('error', reject);
  });
  fill(fd, 0, bulk);
  await done;
  size = 2 * bulk;
  report('bulk');
  // Down to the floor in 4 MiB steps. Held there for 2 s without being stopped, it goes on past it, 1 MiB every
  // 50 ms: into direct reclaim, and in the end the OOM killer, which picks this process.
  let heldSince = 0;
  while (!stop) {
    let step = 0;
    if (mi('MemFree') > floor) {
      step = 4 * MiB;
      heldSince = 0;
    } else if (Date.now() - (heldSince ||= Date.now()) > 2000) step = MiB;
    if (step) {
      fallocate(fd, size, step);
      size += step;
    }
    if (Date.now() - last > 250) {
      last = Date.now();
      report(heldSince ? 'floor' : 'grow');
    }
    await new Promise((r) => setTimeout(r, step === 4 * MiB ? 10 : 50));
  }
  report('stop');
}
