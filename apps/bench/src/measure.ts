// The seed's loop: open the heap once, allocate and close the same size N times, timed around the whole
// loop; each call is also timed on its own (allocation and free apart) for percentiles.
import type { Heap } from '@dmaheap/core';
import {
  addSeals,
  closeFd,
  constants,
  ftruncate,
  memfdCreate,
  openDevice,
  seedLoop,
  udmabufCreate,
} from '@dmaheap/native';
import type { Variant } from './variants.js';

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

export interface Result {
  variant: string;
  label: string;
  group: string;
  scenario: string;
  size: number;
  iterations: number;
  /** Wall time of the whole loop, ns (what the seed's line prints). */
  totalNs: number;
  nsPerCall: number;
  /** allocate + close, per call. */
  call?: Percentiles;
  alloc?: Percentiles;
  free?: Percentiles;
  /** Bytes allocated per second of loop time, GB/s. */
  gbPerSec: number;
  /** Kernel heap's ns/call over this one's, same size and scenario (> 1: faster than the kernel). */
  ratioToKernel?: number;
  /** Stopped before `requested` iterations because the run hit its time cap. */
  requested: number;
}

export interface LoopOptions {
  iterations: number;
  /** Stop a run after this long (emulated machines are slow at 32 MiB). */
  maxMs: number;
  warmup: number;
}

function percentiles(samples: Float64Array, n: number): Percentiles {
  const s = samples.subarray(0, n).slice().sort();
  const at = (q: number) => s[Math.min(n - 1, Math.floor(q * n))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: s[n - 1] ?? 0 };
}

function result(v: Variant, scenario: string, size: number, requested: number, iterations: number, totalNs: number): Result {
  const nsPerCall = totalNs / Math.max(1, iterations);
  return {
    variant: v.id,
    label: v.label,
    group: v.group,
    scenario,
    size,
    requested,
    iterations,
    totalNs,
    nsPerCall,
    gbPerSec: (size * iterations) / totalNs,
  };
}

/** The seed loop on a heap. */
export function seedOnHeap(v: Variant, heap: Heap, size: number, o: LoopOptions): Result {
  const cold = v.cold === true;
  const trim = (heap as Heap & { trim?: (t?: number) => number }).trim?.bind(heap);
  for (let i = 0; i < o.warmup; i++) heap.allocate(size).close();
  const alloc = new Float64Array(o.iterations);
  const free = new Float64Array(o.iterations);
  const deadline = process.hrtime.bigint() + BigInt(o.maxMs) * 1_000_000n;
  let n = 0;
  let total = 0n;
  for (; n < o.iterations; n++) {
    if (cold) trim?.(0);
    const t0 = process.hrtime.bigint();
    const buf = heap.allocate(size);
    const t1 = process.hrtime.bigint();
    buf.close();
    const t2 = process.hrtime.bigint();
    alloc[n] = Number(t1 - t0);
    free[n] = Number(t2 - t1);
    total += t2 - t0;
    if ((n & 7) === 7 && t2 > deadline) {
      n++;
      break;
    }
  }
  const call = new Float64Array(n);
  for (let i = 0; i < n; i++) call[i] = alloc[i]! + free[i]!;
  return {
    ...result(v, 'seed', size, o.iterations, n, Number(total)),
    call: percentiles(call, n),
    alloc: percentiles(alloc, n),
    free: percentiles(free, n),
  };
}

/** The same loop in C inside the native addon: the floor Node's overhead is measured against. */
export function seedInC(v: Variant, size: number, o: LoopOptions): Result {
  const heapFd = openDevice('/dev/dma_heap/system');
  try {
    seedLoop(heapFd, size, Math.max(1, o.warmup));
    // Find how many iterations fit the time cap from a short probe, then run them in one go.
    const probe = Math.min(o.iterations, 20);
    const probeNs = seedLoop(heapFd, size, probe);
    const fit = Math.max(probe, Math.floor((o.maxMs * 1e6) / (probeNs / probe)));
    const n = Math.min(o.iterations, fit);
    return result(v, 'seed', size, o.iterations, n, seedLoop(heapFd, size, n));
  } finally {
    closeFd(heapFd);
  }
}

/** A udmabuf from a fresh memfd every time: what a naive userspace heap would do. */
export function seedFreshUdmabuf(v: Variant, size: number, o: LoopOptions): Result {
  const dev = openDevice('/dev/udmabuf', constants.O_RDWR);
  const one = () => {
    const memfd = memfdCreate('bench-fresh', { allowSealing: true });
    try {
      ftruncate(memfd, size);
      addSeals(memfd, ['shrink']);
      closeFd(udmabufCreate(dev, { memfd, size }));
    } finally {
      closeFd(memfd);
    }
  };
  try {
    for (let i = 0; i < o.warmup; i++) one();
    const call = new Float64Array(o.iterations);
    const deadline = process.hrtime.bigint() + BigInt(o.maxMs) * 1_000_000n;
    let n = 0;
    let total = 0n;
    for (; n < o.iterations; n++) {
      const t0 = process.hrtime.bigint();
      one();
      const t1 = process.hrtime.bigint();
      call[n] = Number(t1 - t0);
      total += t1 - t0;
      if ((n & 7) === 7 && t1 > deadline) {
        n++;
        break;
      }
    }
    return { ...result(v, 'seed', size, o.iterations, n, Number(total)), call: percentiles(call, n) };
  } finally {
    closeFd(dev);
  }
}

/** The line the seed's benchmark prints, so results compare with published ones. */
export function seedLine(r: Result): string {
  return `dmabuf heap: alloc ${r.size} bytes ${r.iterations} times in ${Math.round(r.totalNs)} ns \t ${Math.round(r.nsPerCall)} ns/call`;
}
