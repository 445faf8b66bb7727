// Conformance, worker_threads: four workers allocate, write and close concurrently, each opening its own heap.
import { Worker } from 'node:worker_threads';
import { expect, it } from 'vitest';
import type { ConformanceOptions } from './index.js';

export function describeWorkers(options: ConformanceOptions): void {
  it.runIf(options.worker !== undefined)('allocates concurrently from worker_threads', async () => {
    const { module, exportName = 'openHeap' } = options.worker!;
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.module).then(async (m) => {
        const heap = await m[workerData.exportName]();
        let checked = 0;
        for (let i = 0; i < 20; i++) {
          const buf = heap.allocate(64 * 1024 + i * 4096, { name: 'worker-' + workerData.id });
          buf.withCpuAccess('readwrite', (v) => {
            if (v.some((b) => b !== 0)) throw new Error('fresh buffer not zeroed');
            v.fill(workerData.id + 1);
            if (v[v.length - 1] !== workerData.id + 1) throw new Error('write lost');
            checked += v.length;
          });
          buf.close();
        }
        heap.close();
        parentPort.postMessage(checked);
      }).catch((e) => { parentPort.postMessage('error: ' + (e && e.stack || e)); });
    `;
    const run = (id: number) =>
      new Promise<unknown>((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { module, exportName, id } });
        w.once('message', resolve);
        w.once('error', reject);
      });
    const results = await Promise.all([0, 1, 2, 3].map(run));
    const expected = Array.from({ length: 20 }, (_, i) => 64 * 1024 + i * 4096).reduce((a, b) => a + b, 0);
    expect(results).toEqual([expected, expected, expected, expected]);
  });
}
