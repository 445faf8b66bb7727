// The conformance suite every heap runs against itself (the abstract-level pattern):
//   describeHeapConformance('my heap', { open: () => myHeap() });
// It needs vitest and a real kernel: the buffers it allocates are real dma-bufs.
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLeakHandler, type DmaBuf } from '../dmabuf.js';
import { DmaHeapError, type DmaHeapErrorCode } from '../errors.js';
import type { Heap } from '../types.js';

export interface ConformanceOptions {
  /** Opens the heap under test; it is closed after the suite. */
  open: () => Heap | Promise<Heap>;
  /**
   * For the worker_threads test: a module (URL or specifier resolvable from a worker) whose export
   * `exportName` (default `openHeap`) is a function returning the same kind of heap.
   */
  worker?: { module: string; exportName?: string };
}

/** Open file descriptors of this process. */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

const KiB = 1024;
const MiB = 1024 * KiB;
export const CONFORMANCE_SIZES = [4 * KiB, 64 * KiB, 1 * MiB, 2 * MiB, 8 * MiB, 5000];

/** Expects `fn` to throw a DmaHeapError with `code`, and to leave no fd behind. */
export function expectTypedError(fn: () => unknown, code: DmaHeapErrorCode): DmaHeapError {
  const before = openFdCount();
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(DmaHeapError.isInstance(caught), `expected a DmaHeapError ${code}, got ${String(caught)}`).toBe(true);
  expect((caught as DmaHeapError).code).toBe(code);
  expect(openFdCount()).toBe(before);
  return caught as DmaHeapError;
}

/**
 * Files a program opens while buffers are alive: they take the lowest free fd numbers, which may be numbers a
 * heap just closed. Each is a shared-memory file (what a heap's own memfds are) filled with its own pattern;
 * `check()` fails if any was written, punched, truncated or closed, or if its fd now names another file.
 */
export class Canaries {
  readonly #files: Array<{ fd: number; path: string; ino: number; byte: number; expected: Buffer }> = [];
  readonly #size: number;
  readonly #scratch: Buffer;

  constructor(count = 6, size = 1 << 20) {
    this.#size = size;
    this.#scratch = Buffer.alloc(size);
    const dir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    for (let i = 0; i < count; i++) {
      const path = join(dir, `dmaheap-canary-${process.pid}-${Math.random().toString(36).slice(2)}`);
      const fd = openSync(path, 'w+');
      const byte = 0x21 + ((i * 37) % 0xd0);
      const expected = Buffer.alloc(size, byte);
      writeSync(fd, expected, 0, size, 0);
      this.#files.push({ fd, path, ino: fstatSync(fd).ino, byte, expected });
    }
  }

  /** The fd numbers the canaries hold. */
  get fds(): number[] {
    return this.#files.map((f) => f.fd);
  }

  /** Expects every canary intact: same file behind its fd, same size, every byte its pattern. */
  check(when = ''): void {
    const buf = this.#scratch;
    for (const f of this.#files) {
      let st;
      try {
        st = fstatSync(f.fd);
      } catch (err) {
        expect.fail(`canary fd ${f.fd} ${when}: ${String(err)} (closed by someone else)`);
      }
      expect(st.ino, `canary fd ${f.fd} ${when} names another file`).toBe(f.ino);
      expect(st.size, `canary fd ${f.fd} ${when}: size`).toBe(this.#size);
      expect(readSync(f.fd, buf, 0, this.#size, 0)).toBe(this.#size);
      if (buf.equals(f.expected)) continue; // memcmp: a byte-by-byte scan costs seconds under emulation
      const bad = buf.findIndex((b) => b !== f.byte);
      expect(bad, `canary fd ${f.fd} ${when}: byte ${bad} is ${buf[bad]}, not ${f.byte}`).toBe(-1);
    }
  }

  close(): void {
    for (const f of this.#files.splice(0)) {
      closeSync(f.fd);
      unlinkSync(f.path);
    }
  }
}

/** Runs the garbage collector (needs `--expose-gc`) and lets finalizers run, a few rounds. */
export async function collectGarbage(rounds = 6): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('collectGarbage() needs node --expose-gc');
  for (let i = 0; i < rounds; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const HAS_GC = typeof (globalThis as { gc?: unknown }).gc === 'function';

/** Heaps with a pool (bufferPool, systemHeap) keep memory for reuse; `trim()` gives it back. */
function trimIfPool(heap: Heap): void {
  const trim = (heap as Heap & { trim?: (target?: number) => number }).trim;
  if (typeof trim === 'function') trim.call(heap, 0);
}

function pattern(i: number, seed: number): number {
  return (i * 31 + seed) & 0xff;
}

export function describeHeapConformance(label: string, options: ConformanceOptions): void {
  describe(`heap conformance: ${label}`, () => {
    let heap: Heap;
    beforeAll(async () => {
      heap = await options.open();
    });
    afterAll(() => heap?.close());

    it('describes itself', () => {
      expect(heap.specificationVersion).toBe('v1');
      expect(typeof heap.name).toBe('string');
      expect(heap.name.length).toBeGreaterThan(0);
      expect(heap.capabilities.alignment).toBeGreaterThanOrEqual(4096);
      expect(typeof heap.capabilities.contiguous).toBe('boolean');
    });

    for (const size of CONFORMANCE_SIZES) {
      it(`allocates ${size} bytes: zeroed, written through one mapping, read through another`, () => {
        const buf = heap.allocate(size, { name: 'conformance' });
        try {
          expect(buf.size).toBeGreaterThanOrEqual(size);
          expect(buf.size % 4096).toBe(0);
          const first = buf.map();
          expect(first.length).toBe(buf.size);
          buf.withCpuAccess('read', (v) => {
            // Fresh memory never shows earlier data: every byte must be zero.
            expect(v.findIndex((b) => b !== 0)).toBe(-1);
          });
          buf.withCpuAccess('write', (v) => {
            for (let i = 0; i < v.length; i += 97) v[i] = pattern(i, size);
          });
          buf.unmap();
          expect(first.length).toBe(0);
          buf.withCpuAccess('read', (second) => {
            expect(second === first, 'a new mapping after unmap').toBe(false);
            let bad = -1;
            for (let i = 0; i < second.length; i += 97) if (second[i] !== pattern(i, size)) { bad = i; break; }
            expect(bad).toBe(-1);
          });
        } finally {
          buf.close();
        }
      });
    }

    it('round-trips the name through the kernel', () => {
      using buf = heap.allocate(4 * KiB, { name: 'conf-name' });
      expect(buf.name).toBe('conf-name');
      expect(buf.info().name).toBe('conf-name');
      buf.setName('x'.repeat(31));
      expect(buf.info().name).toBe('x'.repeat(31));
      buf.setName(' spaced name ');
      expect(buf.info().name).toBe(' spaced name ');
      expect(buf.info().size).toBe(buf.size);
    });

    it('makes 100 allocations in a row and gives every fd back', () => {
      trimIfPool(heap); // what earlier tests left pooled is not this test's
      const fds = openFdCount();
      const live = heap.stats().liveBuffers;
      const bufs = Array.from({ length: 100 }, (_, i) => heap.allocate(64 * KiB, { name: `row-${i}` }));
      expect(new Set(bufs.map((b) => b.fd)).size).toBe(100);
      expect(heap.stats().liveBuffers).toBe(live + 100);
      for (const b of bufs) b.close();
      expect(heap.stats().liveBuffers).toBe(live);
      // Pools keep buffers (and their fds) for reuse; trimmed, they must give every one back, and close nothing
      // that was not theirs.
      trimIfPool(heap);
      expect(openFdCount()).toBe(fds);
    });

    it('closing twice is harmless; every method afterwards throws ERR_DMAHEAP_CLOSED', () => {
      trimIfPool(heap);
      const fds = openFdCount();
      const buf = heap.allocate(4 * KiB);
      buf.close();
      buf.close();
      expect(buf.closed).toBe(true);
      for (const call of [
        () => buf.fd,
        () => buf.map(),
        () => buf.beginCpuAccess('read'),
        () => buf.endCpuAccess('read'),
        () => buf.withCpuAccess('read', () => 0),
        () => buf.dup(),
        () => buf.setName('late'),
        () => buf.info(),
      ]) {
        expectTypedError(call, 'ERR_DMAHEAP_CLOSED');
      }
      trimIfPool(heap);
      expect(openFdCount()).toBe(fds);
    });

    describe('lifetimes', () => {
      const SIZE = 1 << 20;
      const pattern = (i: number) => 0x41 + (i % 0x90);

      it('buffers stay valid after heap.close(), and their closing touches no file opened since', async () => {
        const start = openFdCount();
        const h = await options.open();
        const bufs: DmaBuf[] = [];
        // Written, mapped and left mapped, never mapped, handed out (a dup closed at once), named.
        for (let i = 0; i < 5; i++) bufs.push(h.allocate(i === 2 ? 4096 : SIZE, i === 4 ? { name: 'after-close' } : undefined));
        bufs[0]!.withCpuAccess('write', (v) => v.fill(pattern(0)));
        bufs[1]!.withCpuAccess('write', (v) => v.fill(pattern(1)));
        bufs[0]!.unmap();
        const dup = bufs[3]!.dup();
        closeSync(dup);
        h.allocate(SIZE).close(); // something in the pool, if it has one
        h.close();
        // Files opened now take the lowest free numbers: those the heap just closed among them.
        const canaries = new Canaries();
        try {
          for (const [i, b] of bufs.entries()) {
            if (i <= 1) b.withCpuAccess('read', (v) => expect(v.findIndex((x) => x !== pattern(i)), `buffer ${i} after heap.close()`).toBe(-1));
            b.close();
            canaries.check(`after buffer ${i} closed (heap closed before)`);
          }
        } finally {
          canaries.close();
        }
        expect(openFdCount()).toBe(start);
      });

      it('a dup() outlives its buffer and the heap, with the data in it', async () => {
        const start = openFdCount();
        const h = await options.open();
        const buf = h.allocate(SIZE);
        buf.withCpuAccess('write', (v) => v.fill(0x6d));
        const fd = buf.dup();
        buf.close();
        h.close();
        const canaries = new Canaries();
        try {
          const again = await options.open();
          const other = again.allocate(SIZE);
          other.withCpuAccess('readwrite', (v) => {
            expect(v.findIndex((x) => x !== 0), 'a new heap\'s buffer while the dup holds the old one').toBe(-1);
            v.fill(0x11);
          });
          expect(fstatSync(fd).size, 'the dup is still the dma-buf').toBe(SIZE);
          other.close();
          again.close();
          canaries.check('after the dup outlived its heap');
        } finally {
          canaries.close();
          closeSync(fd);
        }
        expect(openFdCount()).toBe(start);
      });

      it.skipIf(!HAS_GC)('a view keeps its buffer alive: a dropped buffer with a live view never aliases later ones', async () => {
        const start = openFdCount();
        const h = await options.open();
        const leaks: string[] = [];
        const previous = setLeakHandler((l) => leaks.push(l.name ?? ''));
        try {
          const kept = (() => {
            const b = h.allocate(SIZE, { name: 'dropped-with-view' });
            const v = b.map();
            v.fill(0x5c);
            return { view: v as Uint8Array | undefined };
          })();
          await collectGarbage();
          expect(leaks, 'no leak report while a view of the buffer is alive').toEqual([]);
          const fresh = Array.from({ length: 4 }, () => h.allocate(SIZE));
          for (const f of fresh) f.withCpuAccess('read', (v) => expect(v.findIndex((x) => x !== 0), 'a buffer allocated beside a live view').toBe(-1));
          kept.view!.fill(0xe1);
          for (const f of fresh) {
            f.withCpuAccess('readwrite', (v) => {
              expect(v.findIndex((x) => x !== 0), 'a write through the old view showed in a new buffer').toBe(-1);
              v.fill(0x42);
            });
          }
          expect(kept.view!.findIndex((x) => x !== 0xe1), 'a new buffer\'s write showed through the old view').toBe(-1);
          for (const f of fresh) f.close();
          // Now the view goes too: the buffer is collected, reported, and its memory comes back zeroed.
          kept.view = undefined;
          await collectGarbage();
          await new Promise((r) => setTimeout(r, 250)); // deferred frees are checked every 100 ms
          expect(leaks).toEqual(['dropped-with-view']);
          const after = Array.from({ length: 4 }, () => h.allocate(SIZE));
          for (const f of after) f.withCpuAccess('read', (v) => expect(v.findIndex((x) => x !== 0), 'a buffer after the leaked one was collected').toBe(-1));
          for (const f of after) f.close();
        } finally {
          setLeakHandler(previous);
          h.close();
        }
        expect(openFdCount()).toBe(start);
      });
      it.skipIf(!HAS_GC)('a closed handle the program keeps pins nothing: a buffer lost later is still collected and released', async () => {
        const start = openFdCount();
        const h = await options.open();
        const leaks: number[] = [];
        const previous = setLeakHandler((l) => leaks.push(l.size));
        try {
          // Closed and kept, with a view of it (detached now), as programs keep handles in arrays; a pool hands
          // the same buffer out again, to a handle that is then lost.
          const closed = h.allocate(SIZE);
          const view = closed.map();
          view.fill(0x3b);
          closed.close();
          (() => h.allocate(SIZE).withCpuAccess('write', (v) => v.fill(0x3c)))();
          for (let i = 0; i < 20 && leaks.length === 0; i++) await collectGarbage(2);
          expect(leaks, 'the lost buffer is collected while the closed one is still held').toHaveLength(1);
          expect([closed.closed, view.length]).toEqual([true, 0]);
          expect(h.stats().liveBuffers, 'the lost buffer left the heap\'s count of live buffers').toBe(0);
        } finally {
          setLeakHandler(previous);
          h.close();
        }
        await new Promise((r) => setTimeout(r, 250)); // deferred frees are checked every 100 ms
        expect(openFdCount()).toBe(start);
      });
    });

    describe('bad input', () => {
      const sizes: Array<[string, unknown]> = [
        ['0', 0],
        ['negative', -1],
        ['fractional', 0.5],
        ['NaN', Number.NaN],
        ['Infinity', Number.POSITIVE_INFINITY],
        ['above MAX_SAFE_INTEGER', 2 ** 53],
        ['2^64', 2 ** 64],
        ['a string', '4096'],
        ['a bigint', 4096n],
      ];
      for (const [what, size] of sizes) {
        it(`size ${what} is an invalid argument`, () => {
          expectTypedError(() => heap.allocate(size as number), 'ERR_DMAHEAP_INVALID_ARGUMENT');
        });
      }

      it('a size larger than the machine is refused, and the heap still works', () => {
        const before = openFdCount();
        let caught: unknown;
        try {
          heap.allocate(Math.floor(totalmem() * 2 / 4096) * 4096).close();
        } catch (err) {
          caught = err;
        }
        expect(DmaHeapError.isInstance(caught)).toBe(true);
        expect(['ERR_DMAHEAP_LIMIT_EXCEEDED', 'ERR_DMAHEAP_OUT_OF_MEMORY']).toContain((caught as DmaHeapError).code);
        expect(openFdCount()).toBe(before);
        heap.allocate(4 * KiB).close();
      });

      it('unknown options, bad names and bad cpuAccess are invalid arguments', () => {
        expectTypedError(() => heap.allocate(4096, { colour: 'red' } as never), 'ERR_DMAHEAP_INVALID_ARGUMENT');
        expectTypedError(() => heap.allocate(4096, 'name' as never), 'ERR_DMAHEAP_INVALID_ARGUMENT');
        expectTypedError(() => heap.allocate(4096, { name: 'y'.repeat(32) }), 'ERR_DMAHEAP_INVALID_ARGUMENT');
        expectTypedError(() => heap.allocate(4096, { name: 42 as never }), 'ERR_DMAHEAP_INVALID_ARGUMENT');
        expectTypedError(() => heap.allocate(4096, { name: 'a\0b' }), 'ERR_DMAHEAP_INVALID_ARGUMENT');
        expectTypedError(() => heap.allocate(4096, { cpuAccess: 'sometimes' as never }), 'ERR_DMAHEAP_INVALID_ARGUMENT');
        using buf = heap.allocate(4096);
        expectTypedError(() => buf.setName('z'.repeat(32)), 'ERR_DMAHEAP_INVALID_ARGUMENT');
        expectTypedError(() => buf.setName(7 as never), 'ERR_DMAHEAP_INVALID_ARGUMENT');
      });

      it('bad CPU-access modes and an end without a begin are refused', () => {
        using buf = heap.allocate(4096);
        expectTypedError(() => buf.beginCpuAccess('execute' as never), 'ERR_DMAHEAP_INVALID_ARGUMENT');
        expectTypedError(() => buf.beginCpuAccess(undefined as never), 'ERR_DMAHEAP_INVALID_ARGUMENT');
        expectTypedError(() => buf.endCpuAccess('write'), 'ERR_DMAHEAP_INVALID_STATE');
        buf.beginCpuAccess('write');
        expectTypedError(() => buf.endCpuAccess('read'), 'ERR_DMAHEAP_INVALID_STATE');
        buf.endCpuAccess('write');
        expectTypedError(() => buf.endCpuAccess('write'), 'ERR_DMAHEAP_INVALID_STATE');
      });
    });

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
  });
}
