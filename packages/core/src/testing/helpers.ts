// What every part of the conformance suite uses: fd counts, typed-error checks, canary files that catch a heap
// acting on an fd after its owner closed it, the garbage collector, a fill pattern.
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { DmaHeapError, type DmaHeapErrorCode } from '../errors.js';
import type { Heap } from '../types.js';


/** Open file descriptors of this process. */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

export const KiB = 1024;
export const MiB = 1024 * KiB;
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

export const HAS_GC = typeof (globalThis as { gc?: unknown }).gc === 'function';

/** Heaps with a pool (bufferPool, systemHeap) keep memory for reuse; `trim()` gives it back. */
export function trimIfPool(heap: Heap): void {
  if (heap.supports.trim) heap.trim(0);
}

export function pattern(i: number, seed: number): number {
  return (i * 31 + seed) & 0xff;
}
