// The heaps the benchmark compares, each able to say why it cannot run here.
import { existsSync } from 'node:fs';
import { cmaHeap } from '@dmaheap/cma-heap';
import { kernelCmaHeaps, type Heap } from '@dmaheap/core';
import { kernelHeap, listDmaHeaps } from '@dmaheap/native';
import { bufferPool } from '@dmaheap/pagepool';
import { systemHeap, type SystemHeapOptions } from '@dmaheap/system-heap';

export type VariantKind = 'heap' | 'c-loop' | 'fresh-udmabuf';
export type VariantGroup = 'kernel' | 'seed' | 'pool' | 'raw' | 'cma';

/** A heap: `group` (the JSON's): `kernel`, `seed` (the per-patch progression), `pool`, `raw`, `cma`; `skip`: why it cannot run here; `cold`: its pool emptied before every (untimed) call. */
export interface Variant { id: string; label: string; kind: VariantKind; group: VariantGroup; skip(): string | undefined; open?(): Heap; cold?: boolean }

const hasUdmabuf = () => (existsSync('/dev/udmabuf') ? undefined : 'no /dev/udmabuf on this kernel');
const hasSystemHeap = () => (listDmaHeaps().includes('system') ? undefined : 'no /dev/dma_heap/system on this kernel');
const cmaName = (): string | undefined => kernelCmaHeaps()[0];

function sys(id: string, label: string, group: VariantGroup, options: SystemHeapOptions, cold = false): Variant {
  return { id, label, kind: 'heap', group, skip: hasUdmabuf, open: () => systemHeap(options), cold };
}

// The stock VM kernel has no CMA heap; scripts/bench.mjs runs these variants in a boot of the CMA test kernel.
const needsCma = () => (cmaName() ? undefined : 'needs a CMA heap: Debian x86 kernels have none; npm run bench runs it on the CMA test kernel');

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
  { id: 'cma', label: 'kernel CMA heap', kind: 'heap', group: 'cma', skip: needsCma, open: () => kernelHeap(cmaName()!) },
  { id: 'cma-heap', label: 'cmaHeap()', kind: 'heap', group: 'cma', skip: needsCma, open: () => cmaHeap() },
  { id: 'pool-cma', label: 'bufferPool(cmaHeap())', kind: 'heap', group: 'cma', skip: needsCma, open: () => bufferPool(cmaHeap()) },
];
