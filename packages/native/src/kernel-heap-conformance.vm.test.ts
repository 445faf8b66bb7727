// The core conformance suite on the kernel's system heap, in the VM.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { describeHeapConformance } from '@dmaheap/core/testing';
import { kernelHeap } from './index.js';

describeHeapConformance("kernelHeap('system')", {
  open: () => kernelHeap('system'),
  // Workers run plain Node: they load the built package.
  worker: { module: pathToFileURL(createRequire(import.meta.url).resolve('@dmaheap/native')).href, exportName: 'kernelHeap' },
});
