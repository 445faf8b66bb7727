// `dmaheap doctor` on the CMA kernel (VM, --cma-setup: cma=256M, the heap /dev/dma_heap/reserved, debugfs
// mounted): the CMA heap, CmaTotal/CmaFree, the area from sysfs and debugfs; openHeap('cma') compared with this
// process's registry; as nobody debugfs is refused and the CMA heap does not open.
// Run: node tools/vm/dist/cli.js --cma-setup -- node node_modules/vitest/vitest.mjs run --project cma packages/cli/src/doctor.cma.vm.test.ts
import { describe, expect, it } from 'vitest';
import { openHeap } from '@dmaheap/core';
import '@dmaheap/native';
import '@dmaheap/system-heap';
import '@dmaheap/cma-heap';
import type { DoctorReport } from './index.js';
import { dmaheap, NOBODY } from './vm.test-helpers.js';

const MiB = 1 << 20;

describe('dmaheap doctor (CMA kernel)', () => {
  it('as root: the CMA heap opens, the area of 256 MiB in sysfs and debugfs, openHeap("cma") gives cmaHeap()', async () => {
    const r = await dmaheap(['doctor', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const d = JSON.parse(r.stdout) as DoctorReport;
    expect(d.heaps.nodes.map((n) => [n.name, n.cma, n.canOpen])).toEqual([
      ['reserved', true, true],
      ['system', false, true],
    ]);
    expect(d.cma.total).toBe(256 * MiB);
    expect(d.cma.free).toBeGreaterThan(0);
    expect(d.cma.free).toBeLessThanOrEqual(256 * MiB);
    expect(d.cma).toMatchObject({ sysfs: 'read', debugfs: 'read' });
    expect(d.cma.areas).toEqual([
      {
        name: 'reserved',
        pages: 65536,
        usedPages: expect.any(Number),
        maxChunkPages: expect.any(Number),
        basePfn: expect.any(Number),
        bytes: 256 * MiB,
        allocPagesSuccess: expect.any(Number),
        allocPagesFail: expect.any(Number),
        releasePagesSuccess: expect.any(Number),
      },
    ]);
    const heap = openHeap('cma');
    expect(d.openHeap.cma).toMatchObject({ opens: { heap: heap.name, backing: heap.capabilities.backing, provider: '@dmaheap/cma-heap' }, error: null });
    heap.close();
    expect(d.openHeap.cma.why).toBe('reserved from @dmaheap/cma-heap (priority 10) is available');
    expect(d.problems).toEqual([]);
    const text = await dmaheap(['doctor']);
    console.log(`[doctor] CMA kernel, root, exit ${text.status}:\n${text.stdout}`);
    expect(text.stdout).toMatch(/^ {2}reserved +256 MiB +/m);
  });

  it('as nobody: sysfs counters but debugfs refused, no heap opens, exit 3', async () => {
    const r = await dmaheap(['doctor', '--json'], { uid: NOBODY });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    const d = JSON.parse(r.stdout) as DoctorReport;
    expect(d.cma.total).toBe(256 * MiB);
    expect(d.cma.debugfs).toBe('EACCES: debugfs is root-only');
    expect(d.cma.areas).toEqual([
      expect.objectContaining({ name: 'reserved', pages: null, bytes: null, allocPagesSuccess: expect.any(Number), releasePagesSuccess: expect.any(Number) }),
    ]);
    expect(d.heaps.nodes.find((n) => n.name === 'reserved')).toMatchObject({
      cma: true,
      canOpen: false,
      error: 'EACCES',
      fix: { udevRule: 'SUBSYSTEM=="dma_heap", KERNEL=="reserved", GROUP="video", MODE="0660"' },
    });
    expect(d.openHeap.cma).toMatchObject({ opens: null, why: expect.stringContaining('reserved from @dmaheap/cma-heap (priority 10): no permission to open /dev/dma_heap/reserved') });
    const text = await dmaheap(['doctor'], { uid: NOBODY });
    console.log(`[doctor] CMA kernel, nobody, exit ${text.status}:\n${text.stdout}`);
  });
});
