// Memory exhaustion, in a VM with little memory (its own boot: nothing else runs beside it). Every heap is
// driven until it says no: a typed out-of-memory error, the process alive, and after freeing (and trimming the
// pools) memory comes back and allocation works again. Without the heaps' memory guard the kernel's system heap
// and shmem pages would take memory until the OOM killer killed this process.
import { describe, expect, it } from 'vitest';
import { CHILD_HEAPS, runInChild } from './child.test-helpers.js';

// Pools allowed to keep everything, so that memory they hold has to come back through trim().
const POOL_OPTIONS = '{ maxBytes: 1 << 30, maxPerSize: 1000 }';
const HEAPS = Object.fromEntries(
  Object.entries(CHILD_HEAPS).map(([label, open]) => [label, open.replace(/^pp\.bufferPool\((.*)\)$/, `pp.bufferPool($1, ${POOL_OPTIONS})`)]),
);

// The memory is taken in a child process, so the test runner itself stays responsive.
const body = (open: string) => `
  const MiB = 1 << 20;
  const available = () => kB('/proc/meminfo', 'MemAvailable');
  const fds = native.openFdCount();
  const start = available();
  const heap = ${open};
  const bufs = [];
  let refusal;
  try { for (;;) bufs.push(heap.allocate(4 * MiB)); } catch (err) { refusal = err; }
  const atRefusal = available();
  // Touch every buffer: the memory is real and usable.
  for (const [i, b] of bufs.entries()) b.withCpuAccess('write', (v) => (v[v.length - 1] = i & 0xff));
  for (const b of bufs) b.close();
  heap.trim(0);
  const afterFree = available();
  let again = 'ok';
  try { heap.allocate(4 * MiB).close(); } catch (e) { again = String(e); }
  heap.close();
  console.log(JSON.stringify({ code: refusal?.code, typed: core.DmaHeapError.isInstance(refusal), count: bufs.length, start, atRefusal, afterFree, again, fdsBack: native.openFdCount() === fds }));
`;

const mib = (bytes: unknown) => ((bytes as number) / (1 << 20)).toFixed(0);

describe('allocating until the heap says no', () => {
  for (const [label, open] of Object.entries(HEAPS)) {
    it(label, { timeout: 10 * 60_000 }, async () => {
      const r = await runInChild<Record<string, number | string | boolean>>(body(open));
      const MiB = 1 << 20;
      console.log(
        `${label}: ${r.count} × 4 MiB before the refusal; MemAvailable ${mib(r.start)} → ${mib(r.atRefusal)} → ${mib(r.afterFree)} MiB after free and trim`,
      );
      expect(r).toMatchObject({ code: 'ERR_DMAHEAP_OUT_OF_MEMORY', typed: true, again: 'ok', fdsBack: true });
      // It really used the memory: most of what was available went into buffers.
      expect((r.count as number) * 4 * MiB).toBeGreaterThan((r.start as number) / 2);
      expect(r.afterFree).toBeGreaterThan((r.start as number) - 64 * MiB);
    });
  }
});
