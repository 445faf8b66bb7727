// Crash safety: worker_threads terminated in the middle of allocating, mapping and writing never take the
// process down, and the main thread's heaps keep working. A child process whose buffers are still held when it
// is killed leaves nothing behind in the parent's pool accounting.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { kernelHeap, mmapFd, munmap, openFdCount } from '@dmaheap/native';
import { systemHeap } from '@dmaheap/system-heap';

const require = createRequire(import.meta.url);
const entries = { native: require.resolve('@dmaheap/native'), sh: require.resolve('@dmaheap/system-heap') };

const WORKER = `
  const { parentPort, workerData } = require('node:worker_threads');
  Promise.all([import(workerData.native), import(workerData.sh)]).then(([native, sh]) => {
    const heaps = [native.kernelHeap('system'), sh.systemHeap()];
    const held = heaps[1].allocate(8 << 20); // 8 MiB of shmem held until the end
    held.withCpuAccess('write', (v) => v.fill(1));
    parentPort.postMessage('ready');
    for (let i = 0; ; i++) {
      const b = heaps[i % 2].allocate(4096 * (1 + (i % 64)));
      b.withCpuAccess('write', (v) => v.fill(i & 0xff));
      if (i % 3) b.close(); // some are left open when the worker dies
    }
  });
`;

/** Mappings of memfds and dma-bufs in this process (/proc/self/maps). */
function bufferMappings(): number {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => /\/memfd:|dmabuf/.test(line)).length;
}

describe('crash safety', () => {
  it('worker_threads terminated mid-allocation never crash the process, nor leave fds or mappings', async () => {
    const before = openFdCount();
    const mappingsBefore = bufferMappings();
    // The probe sees a mapped buffer (so the check at the end can fail).
    const probe = systemHeap();
    const seen = probe.allocate(4096);
    seen.map();
    expect(bufferMappings()).toBeGreaterThan(mappingsBefore);
    seen.close();
    probe.close();
    expect(bufferMappings()).toBe(mappingsBefore);
    for (let round = 0; round < 8; round++) {
      const w = new Worker(WORKER, { eval: true, workerData: entries });
      await new Promise((resolve) => w.once('message', resolve));
      await new Promise((r) => setTimeout(r, 20 + round * 15));
      const code = await w.terminate();
      expect(code).toBe(1);
    }
    // The process is alive and its own heaps work.
    for (const heap of [kernelHeap('system'), systemHeap()]) {
      const b = heap.allocate(65536);
      b.withCpuAccess('readwrite', (v) => {
        expect(v.every((x) => x === 0)).toBe(true);
        v.fill(5);
      });
      b.close();
      heap.close();
    }
    // Nothing a terminated worker held stays open: its heaps' fds and those of buffers it never closed are
    // closed by the addon's cleanup hook at the worker's teardown (its FinalizationRegistry dies unrun).
    // Process-wide Shmem would also count other test files running at the same time; what this process holds
    // is its fds (the memfd arenas and dma-bufs behind them) and its mappings of them.
    console.log(`fds before ${before}, after 8 terminated workers ${openFdCount()}; memfd and dma-buf mappings ${mappingsBefore} -> ${bufferMappings()}`);
    expect(openFdCount()).toBe(before);
    expect(bufferMappings()).toBe(mappingsBefore);
  });

  it('an fd dup()ed in a worker is the receiver\'s: it outlives the worker', async () => {
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       import(workerData.sh).then((sh) => {
         const b = sh.systemHeap().allocate(65536);
         b.withCpuAccess('write', (v) => v.fill(0x77));
         parentPort.postMessage(b.dup());
         setInterval(() => {}, 1000); // holds its heap and buffer until terminated
       });`,
      { eval: true, workerData: entries },
    );
    const fd = await new Promise<number>((resolve) => worker.once('message', resolve));
    await worker.terminate();
    const view = new Uint8Array(mmapFd(fd, { length: 65536 }));
    expect(view[0]).toBe(0x77);
    expect(view[65535]).toBe(0x77);
    munmap(view.buffer as ArrayBuffer);
    require('node:fs').closeSync(fd);
  });

  it('a child process killed while holding a buffer leaves the parent pool right', async () => {
    const heap = systemHeap();
    const buf = heap.allocate(1 << 20);
    buf.withCpuAccess('write', (v) => v.fill(0x5a));
    const fd = buf.dup();
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', `const n = await import(${JSON.stringify(entries.native)}); const v = new Uint8Array(n.mmapFd(3, { length: 1 << 20 })); process.stdout.write(String(v[7])); setInterval(() => {}, 1000);`],
      { stdio: ['ignore', 'pipe', 'inherit', fd] },
    );
    const seen = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString())));
    expect(seen).toBe(String(0x5a));
    buf.close();
    require('node:fs').closeSync(fd);
    expect(heap.stats().deferredPending).toBe(1); // the child's fd and mapping hold it
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(heap.collectDeferred()).toBe(0);
    const again = heap.allocate(1 << 20);
    again.withCpuAccess('read', (v) => expect(v.every((x) => x === 0)).toBe(true));
    again.close();
    expect(heap.stats()).toMatchObject({ liveBuffers: 0, deferredPending: 0 });
    heap.close();
  });
});
