// The core conformance suite on systemHeap() in both zero modes and on buffer pools over each, in the VM
// (bufferPool over the kernel's system heap: packages/pagepool/src/buffer-pool.vm.test.ts).
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { describeHeapConformance } from '@dmaheap/core/testing';
import { bufferPool } from '@dmaheap/pagepool';
import { systemHeap } from './index.js';

const entry = pathToFileURL(createRequire(import.meta.url).resolve('@dmaheap/system-heap')).href;

describeHeapConformance('systemHeap()', { open: () => systemHeap(), worker: { module: entry, exportName: 'systemHeap' } });
describeHeapConformance("systemHeap({ zero: 'on-alloc' })", { open: () => systemHeap({ zero: 'on-alloc' }) });
describeHeapConformance('bufferPool(systemHeap())', { open: () => bufferPool(systemHeap()) });
describeHeapConformance("bufferPool(systemHeap({ zero: 'on-alloc' }))", { open: () => bufferPool(systemHeap({ zero: 'on-alloc' })) });
