// Property-based fuzz of a heap: random sequences of operations run against a model, in the VM. Besides the
// common path (allocate, write, read, share, close) the sequences go where real programs go: the heap closed
// with buffers alive, dup() copies kept past their buffer and their heap, buffers dropped without close() with
// and without a live view and the garbage collector run, and unrelated files opened between steps, checked
// after every step. After each sequence the process holds exactly the fds it held before.
// Needs node --expose-gc (the vm projects run their forks with it).
import { closeSync } from 'node:fs';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { DmaHeapError, setLeakHandler, type DmaBuf, type Heap } from '@dmaheap/core';
import { Canaries, collectGarbage } from '@dmaheap/core/testing';
import { mmapFd, munmap, openFdCount } from '@dmaheap/native';

const SIZES = [4096, 8192, 69_632, 1 << 20, 3 * (1 << 20) + 123];
/** Canary files: smaller than a chunk, so a stray zeroing or punch of a heap's range would hit them whole. */
const CANARY_BYTES = 128 * 1024;

interface Live {
  buf: DmaBuf;
  /** The byte every sampled position must hold. */
  fill: number;
}
/** A view kept after its buffer was dropped (never closed). */
interface Kept {
  view: Uint8Array;
  fill: number;
}
/** A dup() kept open: it must go on reading what its buffer last held, whatever happens to buffer and heap. */
interface Dup {
  fd: number;
  size: number;
  /** The live buffer it copies, while that is alive and in the model. */
  source: Live | undefined;
  fill: number;
}
interface Model {
  live: Live[];
  closed: DmaBuf[];
  kept: Kept[];
  dups: Dup[];
  heapClosed: boolean;
  dropped: number;
}
interface Real {
  heap: Heap;
  canaries: Canaries[];
}
type Cmd = fc.AsyncCommand<Model, Real>;

/** Where a run's time goes (printed with its totals): garbage collection and canary checks are the overhead. */
const clock = { gcMs: 0, canaryMs: 0 };
async function collect(rounds: number): Promise<void> {
  const t0 = performance.now();
  await collectGarbage(rounds);
  clock.gcMs += performance.now() - t0;
}

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

function readDup(d: Dup): number[] {
  const ab = mmapFd(d.fd, { length: d.size });
  try {
    return samples(new Uint8Array(ab));
  } finally {
    munmap(ab);
  }
}

const pick = <T>(list: T[], i: number): T | undefined => (list.length ? list[i % list.length] : undefined);
const hasLive = (m: Readonly<Model>) => m.live.length > 0;

/** A command whose effect is checked, then every canary, after it runs. */
abstract class Step implements Cmd {
  abstract check(m: Readonly<Model>): boolean;
  abstract apply(m: Model, r: Real): void | Promise<void>;
  abstract toString(): string;
  async run(m: Model, r: Real): Promise<void> {
    await this.apply(m, r);
    const t0 = performance.now();
    for (const c of r.canaries) c.check(`after ${this.toString()}`);
    clock.canaryMs += performance.now() - t0;
  }
}

class Allocate extends Step {
  constructor(readonly size: number, readonly named: boolean) {
    super();
  }
  check = (m: Readonly<Model>) => !m.heapClosed;
  apply(m: Model, r: Real): void {
    const buf = r.heap.allocate(this.size, this.named ? { name: 'fuzz' } : undefined);
    expect(buf.size).toBeGreaterThanOrEqual(this.size);
    // Fresh memory never shows earlier data.
    buf.withCpuAccess('read', (v) => expect(samples(v).every((b) => b === 0)).toBe(true));
    m.live.push({ buf, fill: 0 });
  }
  toString = () => `allocate(${this.size}${this.named ? ', named' : ''})`;
}

class Write extends Step {
  constructor(readonly i: number, readonly byte: number) {
    super();
  }
  check = hasLive;
  apply(m: Model): void {
    const l = pick(m.live, this.i)!;
    l.buf.withCpuAccess('write', (v) => v.fill(this.byte));
    l.fill = this.byte;
    for (const d of m.dups) if (d.source === l) d.fill = this.byte;
  }
  toString = () => `write(${this.i}, ${this.byte})`;
}

class Read extends Step {
  constructor(readonly i: number) {
    super();
  }
  check = hasLive;
  apply(m: Model): void {
    const l = pick(m.live, this.i)!;
    l.buf.withCpuAccess('read', (v) => expect(samples(v)).toEqual(samples(v).map(() => l.fill)));
  }
  toString = () => `read(${this.i})`;
}

class Unmap extends Step {
  constructor(readonly i: number) {
    super();
  }
  check = hasLive;
  apply(m: Model): void {
    const l = pick(m.live, this.i)!;
    const view = l.buf.map();
    l.buf.unmap();
    expect(view.length).toBe(0);
  }
  toString = () => `unmap(${this.i})`;
}

class Share extends Step {
  constructor(readonly i: number) {
    super();
  }
  check = hasLive;
  apply(m: Model): void {
    const l = pick(m.live, this.i)!;
    const fd = l.buf.dup();
    expect(l.buf.info().count).toBeGreaterThanOrEqual(2);
    closeSync(fd);
  }
  toString = () => `share(${this.i})`;
}

/** A dup() kept open: it outlives its buffer, the heap, everything, until CloseDup or the end. */
class KeepDup extends Step {
  constructor(readonly i: number) {
    super();
  }
  check = hasLive;
  apply(m: Model): void {
    const l = pick(m.live, this.i)!;
    m.dups.push({ fd: l.buf.dup(), size: l.buf.size, source: l, fill: l.fill });
  }
  toString = () => `keepDup(${this.i})`;
}

class CloseDup extends Step {
  constructor(readonly i: number) {
    super();
  }
  check = (m: Readonly<Model>) => m.dups.length > 0;
  apply(m: Model): void {
    const [d] = m.dups.splice(this.i % m.dups.length, 1);
    expect(readDup(d!), 'a kept dup reads what its buffer last held').toEqual(readDup(d!).map(() => d!.fill));
    closeSync(d!.fd);
  }
  toString = () => `closeDup(${this.i})`;
}

class Rename extends Step {
  constructor(readonly i: number, readonly name: string) {
    super();
  }
  check = hasLive;
  apply(m: Model): void {
    const l = pick(m.live, this.i)!;
    l.buf.setName(this.name);
    expect(l.buf.info().name ?? '').toBe(this.name);
  }
  toString = () => `rename(${this.i}, ${JSON.stringify(this.name)})`;
}

class Close extends Step {
  constructor(readonly i: number) {
    super();
  }
  check = hasLive;
  apply(m: Model): void {
    const [l] = m.live.splice(this.i % m.live.length, 1);
    l!.buf.close();
    m.closed.push(l!.buf);
    for (const d of m.dups) if (d.source === l) d.source = undefined;
  }
  toString = () => `close(${this.i})`;
}

/** A buffer forgotten without close(), with or without a view kept: only the garbage collector can free it. */
class Drop extends Step {
  constructor(readonly i: number, readonly keepView: boolean) {
    super();
  }
  check = hasLive;
  apply(m: Model): void {
    const [l] = m.live.splice(this.i % m.live.length, 1);
    if (this.keepView) m.kept.push({ view: l!.buf.map(), fill: l!.fill });
    for (const d of m.dups) if (d.source === l) d.source = undefined;
    m.dropped++;
  }
  toString = () => `drop(${this.i}${this.keepView ? ', keeping a view' : ''})`;
}

class DropView extends Step {
  constructor(readonly i: number) {
    super();
  }
  check = (m: Readonly<Model>) => m.kept.length > 0;
  apply(m: Model): void {
    m.kept.splice(this.i % m.kept.length, 1);
  }
  toString = () => `dropView(${this.i})`;
}

/** The garbage collector runs: dropped buffers without views are released; kept views and dups still hold their data. */
class Collect extends Step {
  check = () => true;
  async apply(m: Model): Promise<void> {
    await collect(2);
    for (const k of m.kept) expect(samples(k.view), 'a kept view after GC').toEqual(samples(k.view).map(() => k.fill));
    for (const d of m.dups) expect(readDup(d), 'a kept dup after GC').toEqual(readDup(d).map(() => d.fill));
  }
  toString = () => 'collect()';
}

/** The heap (or pool) closes with buffers alive; files opened next take the numbers it just closed. */
class CloseHeap extends Step {
  check = (m: Readonly<Model>) => !m.heapClosed;
  apply(m: Model, r: Real): void {
    r.heap.close();
    m.heapClosed = true;
    r.canaries.push(new Canaries(4, CANARY_BYTES));
  }
  toString = () => 'closeHeap()';
}

class OpenCanaries extends Step {
  check = () => true;
  apply(_m: Model, r: Real): void {
    r.canaries.push(new Canaries(2, CANARY_BYTES));
  }
  toString = () => 'openCanaries()';
}

/** The stale-data path: dirty a buffer (or hand it out), close it, allocate the same size: zeros only. */
class Recycle extends Step {
  constructor(readonly size: number, readonly byte: number, readonly share: boolean) {
    super();
  }
  check = (m: Readonly<Model>) => !m.heapClosed;
  apply(m: Model, r: Real): void {
    const a = r.heap.allocate(this.size);
    if (this.share) closeSync(a.dup());
    a.withCpuAccess('write', (v) => v.fill(this.byte));
    a.close();
    const b = r.heap.allocate(this.size);
    b.withCpuAccess('read', (v) => expect(samples(v)).toEqual(samples(v).map(() => 0)));
    b.close();
    // Nothing that still holds memory sees the new buffers' traffic.
    for (const k of m.kept) expect(samples(k.view)).toEqual(samples(k.view).map(() => k.fill));
    for (const d of m.dups) expect(readDup(d)).toEqual(readDup(d).map(() => d.fill));
  }
  toString = () => `recycle(${this.size}, ${this.byte}${this.share ? ', shared' : ''})`;
}

class Misuse extends Step {
  constructor(readonly i: number, readonly kind: number) {
    super();
  }
  check = () => true;
  apply(m: Model, r: Real): void {
    const before = openFdCount();
    const closed = pick(m.closed, this.i);
    const live = pick(m.live, this.i);
    const cases: Array<[() => unknown, string]> = m.heapClosed
      ? [[() => r.heap.allocate(4096), 'ERR_DMAHEAP_CLOSED']]
      : [
          [() => r.heap.allocate([0, -1, 0.5, Number.NaN, 2 ** 53][this.i % 5]!), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
          [() => r.heap.allocate(4096, { name: 'n'.repeat(32 + (this.i % 8)) }), 'ERR_DMAHEAP_INVALID_ARGUMENT'],
        ];
    if (closed) cases.push([() => closed.map(), 'ERR_DMAHEAP_CLOSED']);
    if (live) cases.push([() => live.buf.endCpuAccess('readwrite'), 'ERR_DMAHEAP_INVALID_STATE']);
    const [fn, code] = cases[this.kind % cases.length]!;
    expect(codeOf(fn)).toBe(code);
    expect(openFdCount()).toBe(before);
  }
  toString = () => `misuse(${this.i}, ${this.kind})`;
}

const byte = fc.integer({ min: 1, max: 255 });
const COMMANDS = [
  fc.tuple(fc.constantFrom(...SIZES), fc.boolean()).map(([s, n]) => new Allocate(s, n)),
  fc.tuple(fc.nat(), byte).map(([i, b]) => new Write(i, b)),
  fc.nat().map((i) => new Read(i)),
  fc.nat().map((i) => new Unmap(i)),
  fc.nat().map((i) => new Share(i)),
  fc.nat().map((i) => new KeepDup(i)),
  fc.nat().map((i) => new CloseDup(i)),
  fc.tuple(fc.nat(), fc.string({ maxLength: 31 }).filter((s) => !s.includes('\0') && Buffer.byteLength(s) <= 31)).map(([i, n]) => new Rename(i, n)),
  fc.nat().map((i) => new Close(i)),
  fc.tuple(fc.nat(), fc.boolean()).map(([i, v]) => new Drop(i, v)),
  fc.nat().map((i) => new DropView(i)),
  fc.constant(new Collect()),
  fc.constant(new CloseHeap()),
  fc.constant(new OpenCanaries()),
  fc.tuple(fc.nat(), fc.nat()).map(([i, k]) => new Misuse(i, k)),
  fc.tuple(fc.constantFrom(...SIZES), byte, fc.boolean()).map(([s, b, sh]) => new Recycle(s, b, sh)),
];

/** Sequences per heap: 40 in npm test, 1000 with DMAHEAP_SOAK=1. */
export const FUZZ_RUNS = process.env['DMAHEAP_SOAK'] === '1' ? 1000 : 40;

/**
 * One test: `runs` random sequences of up to 30 operations on heaps made by `open`. Ends each sequence by
 * closing what is left, collecting garbage until every dropped buffer was released, and checking that the
 * process holds exactly the fds it held before, and that every canary is intact.
 */
export function fuzzHeap(label: string, open: () => Heap, runs = FUZZ_RUNS): void {
  it(label, { timeout: Math.max(240_000, runs * 2_000) }, async () => {
    const gc = (globalThis as { gc?: unknown }).gc;
    expect(typeof gc, 'the fuzz needs node --expose-gc').toBe('function');
    const start = openFdCount();
    let leaked = 0;
    const previous = setLeakHandler(() => leaked++);
    const totals = { sequences: 0, steps: 0, dropped: 0, heapClosed: 0 };
    const t0 = performance.now();
    clock.gcMs = clock.canaryMs = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.commands(COMMANDS, { maxCommands: 30, size: 'medium' }), async (cmds) => {
          await new Promise(setImmediate); // yield: long synchronous runs starve vitest's worker messages
          const real: Real = { heap: open(), canaries: [new Canaries(2, CANARY_BYTES)] };
          const model: Model = { live: [], closed: [], kept: [], dups: [], heapClosed: false, dropped: 0 };
          leaked = 0;
          try {
            try {
              await fc.asyncModelRun(() => ({ model, real }), cmds);
            } finally {
              for (const l of model.live.splice(0)) l.buf.close();
              for (const d of model.dups.splice(0)) closeSync(d.fd);
              model.kept.length = 0;
              real.heap.close();
            }
            totals.sequences++;
            totals.steps += [...cmds].length;
            totals.dropped += model.dropped;
            totals.heapClosed += model.heapClosed ? 1 : 0;
            // Every dropped buffer is collected and released (its fd closed, its memory given back).
            for (let i = 0; i < 50 && leaked < model.dropped; i++) await collect(2);
            expect(leaked, 'dropped buffers reported as leaked').toBe(model.dropped);
            for (const c of real.canaries) c.check('at the end of the sequence');
          } finally {
            // Closed whatever failed: a failed sequence must not leave its canaries' fds to fail the next one
            // (fast-check then shrinks to a sequence that fails only for that, hiding the first failure).
            for (const c of real.canaries) c.close();
          }
          // Deferred frees of buffers collected while a mapping still held them finish within a few checks.
          for (let i = 0; i < 20 && openFdCount() !== start; i++) await collect(2);
          expect(openFdCount(), 'fds open after the sequence, against before the test').toBe(start);
        }),
        { numRuns: runs, seed: Number(process.env['DMAHEAP_FUZZ_SEED'] ?? Date.now() % 2 ** 31), verbose: 1 },
      );
    } finally {
      setLeakHandler(previous);
    }
    console.log(
      `[fuzz] ${label}: ${totals.sequences} sequences, ${totals.steps} steps, ${totals.dropped} buffers dropped, heap closed mid-sequence in ${totals.heapClosed}; fds ${start} -> ${openFdCount()}; ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s, of which GC ${(clock.gcMs / 1000).toFixed(1)} s, canary checks ${(clock.canaryMs / 1000).toFixed(1)} s`,
    );
  });
}
