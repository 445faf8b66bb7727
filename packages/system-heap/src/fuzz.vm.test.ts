// Property-based fuzz: random sequences of buffer operations run against a model, on every heap, in the VM.
// After each sequence every buffer is closed, and the process holds exactly the fds it held before.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DmaHeapError, type DmaBuf, type Heap } from '@dmaheap/core';
import { closeFd, kernelHeap, openFdCount } from '@dmaheap/native';
import { bufferPool } from '@dmaheap/pagepool';
import { systemHeap } from './index.js';

const SIZES = [4096, 8192, 69_632, 1 << 20, 3 * (1 << 20) + 123];

interface Live {
  buf: DmaBuf;
  /** The byte every sampled position must hold. */
  fill: number;
}
interface Model {
  live: Live[];
  closed: DmaBuf[];
}
interface Real {
  heap: Heap;
}
type Cmd = fc.Command<Model, Real>;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return DmaHeapError.isInstance(e) ? e.code : `untyped ${String(e)}`;
  }
  return undefined;
}

function samples(v: Uint8Array): number[] {
  return [0, 4095, v.length >> 1, v.length - 1].filter((i) => i < v.length).map((i) => v[i]!);
}

const pick = <T>(list: T[], i: number): T | undefined => (list.length ? list[i % list.length] : undefined);

class Allocate implements Cmd {
  constructor(readonly size: number, readonly named: boolean) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const buf = r.heap.allocate(this.size, this.named ? { name: 'fuzz' } : undefined);
    expect(buf.size).toBeGreaterThanOrEqual(this.size);
    // Fresh memory never shows earlier data.
    buf.withCpuAccess('read', (v) => expect(samples(v).every((b) => b === 0)).toBe(true));
    m.live.push({ buf, fill: 0 });
  }
  toString = () => `allocate(${this.size}${this.named ? ', named' : ''})`;
}

class Write implements Cmd {
  constructor(readonly i: number, readonly byte: number) {}
  check = (m: Readonly<Model>) => m.live.length > 0;
  run(m: Model): void {
    const l = pick(m.live, this.i)!;
    l.buf.withCpuAccess('write', (v) => v.fill(this.byte));
    l.fill = this.byte;
  }
  toString = () => `write(${this.i}, ${this.byte})`;
}

class Read implements Cmd {
  constructor(readonly i: number) {}
  check = (m: Readonly<Model>) => m.live.length > 0;
  run(m: Model): void {
    const l = pick(m.live, this.i)!;
    l.buf.withCpuAccess('read', (v) => expect(samples(v)).toEqual(samples(v).map(() => l.fill)));
  }
  toString = () => `read(${this.i})`;
}

class Unmap implements Cmd {
  constructor(readonly i: number) {}
  check = (m: Readonly<Model>) => m.live.length > 0;
  run(m: Model): void {
    const l = pick(m.live, this.i)!;
    const view = l.buf.map();
    l.buf.unmap();
    expect(view.length).toBe(0);
  }
  toString = () => `unmap(${this.i})`;
}

class Share implements Cmd {
  constructor(readonly i: number) {}
  check = (m: Readonly<Model>) => m.live.length > 0;
  run(m: Model): void {
    const l = pick(m.live, this.i)!;
    const fd = l.buf.dup();
    expect(l.buf.info().count).toBeGreaterThanOrEqual(2);
    closeFd(fd);
  }
  toString = () => `share(${this.i})`;
}

class Rename implements Cmd {
  constructor(readonly i: number, readonly name: string) {}
  check = (m: Readonly<Model>) => m.live.length > 0;
  run(m: Model): void {
    const l = pick(m.live, this.i)!;
    l.buf.setName(this.name);
    expect(l.buf.info().name ?? '').toBe(this.name);
  }
  toString = () => `rename(${this.i}, ${JSON.stringify(this.name)})`;
}

class Close implements Cmd {
  constructor(readonly i: number) {}
  check = (m: Readonly<Model>) => m.live.length > 0;
  run(m: Model): void {
    const idx = this.i % m.live.length;
    const [l] = m.live.splice(idx, 1);
    l!.buf.close();
    m.closed.push(l!.buf);
  }
  toString = () => `close(${this.i})`;
}

/** The stale-data path: dirty a buffer (or hand it out), close it, allocate the same size: zeros only. */
class Recycle implements Cmd {
  constructor(readonly size: number, readonly byte: number, readonly share: boolean) {}
  check = () => true;
  run(_m: Model, r: Real): void {
    const a = r.heap.allocate(this.size);
    if (this.share) closeFd(a.dup());
    a.withCpuAccess('write', (v) => v.fill(this.byte));
    a.close();
    const b = r.heap.allocate(this.size);
    b.withCpuAccess('read', (v) => expect(samples(v)).toEqual(samples(v).map(() => 0)));
    b.close();
  }
  toString = () => `recycle(${this.size}, ${this.byte}${this.share ? ', shared' : ''})`;
}

class Misuse implements Cmd {
  constructor(readonly i: number, readonly kind: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const before = openFdCount();
    const closed = pick(m.closed, this.i);
    const live = pick(m.live, this.i);
    const cases: Array<[() => unknown, string]> = [
      [() => r.heap.allocate([0, -1, 0.5, Number.NaN, 2 ** 53][this.i % 5]!), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
      [() => r.heap.allocate(4096, { name: 'n'.repeat(32 + (this.i % 8)) }), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
      ...(closed ? ([[() => closed.map(), 'ERR_DMAHEAP_CLOSED']] as Array<[() => unknown, string]>) : []),
      ...(live ? ([[() => live.buf.endCpuAccess('readwrite'), 'ERR_DMAHEAP_INVALID_STATE']] as Array<[() => unknown, string]>) : []),
    ];
    const [fn, code] = cases[this.kind % cases.length]!;
    expect(codeOf(fn)).toBe(code);
    expect(openFdCount()).toBe(before);
  }
  toString = () => `misuse(${this.i}, ${this.kind})`;
}

const commands = [
  fc.tuple(fc.constantFrom(...SIZES), fc.boolean()).map(([s, n]) => new Allocate(s, n)),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([i, b]) => new Write(i, b)),
  fc.nat().map((i) => new Read(i)),
  fc.nat().map((i) => new Unmap(i)),
  fc.nat().map((i) => new Share(i)),
  fc.tuple(fc.nat(), fc.string({ maxLength: 31 }).filter((s) => !s.includes('\0') && Buffer.byteLength(s) <= 31)).map(([i, n]) => new Rename(i, n)),
  fc.nat().map((i) => new Close(i)),
  fc.tuple(fc.nat(), fc.nat()).map(([i, k]) => new Misuse(i, k)),
  fc.tuple(fc.constantFrom(...SIZES), fc.integer({ min: 1, max: 255 }), fc.boolean()).map(([s, b, sh]) => new Recycle(s, b, sh)),
];

/** Sequences per heap, each up to 30 operations: 40 in npm test (about 3 s a heap under TCG), 1000 with DMAHEAP_SOAK=1. */
const FUZZ_RUNS = process.env.DMAHEAP_SOAK === '1' ? 1000 : 40;

const HEAPS: Array<[string, () => Heap]> = [
  ["kernelHeap('system')", () => kernelHeap('system')],
  ['systemHeap()', () => systemHeap()],
  ['systemHeap({ zero: "on-alloc", orders: [4, 0] })', () => systemHeap({ zero: 'on-alloc', orders: [4, 0] })],
  ["bufferPool(kernelHeap('system'))", () => bufferPool(kernelHeap('system'))],
  ['bufferPool(systemHeap())', () => bufferPool(systemHeap())],
];

describe('fuzzed sequences of operations match the model', () => {
  for (const [label, open] of HEAPS) {
    it(label, { timeout: Math.max(180_000, FUZZ_RUNS * 500) }, async () => {
      const start = openFdCount();
      // Asynchronous only to yield between sequences: a minute of synchronous runs (the soak) starves the
      // worker's messages to vitest ("Timeout calling onTaskUpdate").
      await fc.assert(
        fc.asyncProperty(fc.commands(commands, { maxCommands: 30, size: 'medium' }), async (cmds) => {
          await new Promise(setImmediate);
          const heap = open();
          const model: Model = { live: [], closed: [] };
          try {
            fc.modelRun(() => ({ model, real: { heap } }), cmds);
          } finally {
            for (const l of model.live) l.buf.close();
            heap.close();
          }
          expect(openFdCount()).toBe(start);
        }),
        { numRuns: FUZZ_RUNS, seed: Number(process.env.DMAHEAP_FUZZ_SEED ?? Date.now() % 2 ** 31), verbose: 1 },
      );
    });
  }
});
