import { kernelHeap, unchecked, openDevice, constants, memfdCreate, ftruncate, addSeals, fallocate } from '@dmaheap/native';
import { systemHeap } from '@dmaheap/system-heap';
const size = 4096;
const kh = kernelHeap('system'), sh = systemHeap();
const cases = { kernelHeap: () => kh.allocate(size).close(), systemHeap: () => sh.allocate(size).close() };
const samples = {};
for (const f of Object.values(cases)) for (let i = 0; i < 3000; i++) f();
for (let round = 0; round < 16; round++) {
  for (const [name, f] of Object.entries(cases)) {
    const N = 2000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) f();
    (samples[name] ??= []).push(Number(process.hrtime.bigint() - t0) / N / 1000);
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(Object.entries(samples).map(([k, v]) => `${k} min ${Math.min(...v).toFixed(1)} med ${med(v).toFixed(1)} µs`).join(' | '));
