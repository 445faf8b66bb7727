// The heaps the benchmark compares, each able to say why it cannot run here.
import { existsSync } from 'node:fs';
import type { Heap } from '@dmaheap/core';
import { CMA_HEAP_NAMES, listDmaHeaps } from '@dmaheap/native';
import { bufferPool } from '@dmaheap/pagepool';
import { systemHeap, type SystemHeapOptions } from '@dmaheap/system-heap';
import { kernelHeap } from '@dmaheap/native';

export type VariantKind = 'heap' | 'c-loop' | 'fresh-udmabuf';

export interface Variant {
  id: string;
  label: string;
  kind: VariantKind;
  /** Group for charts: `kernel`, `seed` (the per-patch progression), `pool`, `raw`, `cma`. */
  group: 'kernel' | 'seed' | 'pool' | 'raw' | 'cma';
  /** Why it cannot run on this machine, or undefined when it can. */
  skip(): string | undefined;
  open?(): Heap;
  /** For the system heap with its pool cold: the pool is emptied before every (untimed) iteration. */
  cold?: boolean;
}

const hasUdmabuf = () => (existsSync('/dev/udmabuf') ? undefined : 'no /dev/udmabuf on this kernel');
const hasSystemHeap = () => (listDmaHeaps().includes('system') ? undefined : 'no /dev/dma_heap/system on this kernel');
const cmaName = () => listDmaHeaps().find((n) => (CMA_HEAP_NAMES as readonly string[]).includes(n));

function sys(id: string, label: string, group: Variant['group'], options: SystemHeapOptions, cold = false): Variant {
  return { id, label, kind: 'heap', group, skip: hasUdmabuf, open: () => systemHeap(options), cold };
}

/** The seed series' progression, one optimisation added at a time, then the pools and the floors. */
export const VARIANTS: Variant[] = [
  { id: 'kernel', label: "kernelHeap('system')", kind: 'heap', group: 'kernel', skip: hasSystemHeap, open: () => kernelHeap('system') },
  { id: 'kernel-c', label: 'kernel heap, C loop', kind: 'c-loop', group: 'kernel', skip: hasSystemHeap },
  sys('sgtable', 'systemHeap: sgtable baseline (4 KiB, no pool, sync)', 'seed', { orders: [0], pool: false, skipSync: false }),
  sys('orders', '+ higher orders', 'seed', { pool: false, skipSync: false }),
  sys('pagepool', '+ page pool', 'seed', { skipSync: false }),
  sys('skipsync', '+ skip sync (systemHeap(), warm)', 'seed', {}),
  sys('system-cold', 'systemHeap(), pool cold', 'seed', {}, true),
  { id: 'pool-kernel', label: "bufferPool(kernelHeap('system'))", kind: 'heap', group: 'pool', skip: hasSystemHeap, open: () => bufferPool(kernelHeap('system')) },
  { id: 'pool-system', label: 'bufferPool(systemHeap())', kind: 'heap', group: 'pool', skip: hasUdmabuf, open: () => bufferPool(systemHeap()) },
  { id: 'udmabuf-fresh', label: 'udmabuf from a fresh memfd', kind: 'fresh-udmabuf', group: 'raw', skip: hasUdmabuf },
  {
    id: 'cma',
    label: 'kernel CMA heap',
    kind: 'heap',
    group: 'cma',
    skip: () => (cmaName() ? undefined : 'no CMA heap under /dev/dma_heap (Debian x86 kernels have no CMA)'),
    open: () => kernelHeap(cmaName()!),
  },
];
