// What npm test runs in the arm64 guest (the arm64 test kernel: heaps, CMA, udmabuf, vgem and vivid built in),
// beside native's suites: the conformance suite on kernelHeap('system') and systemHeap(), and a vivid capture
// into each, the frames byte for byte the same. DMAHEAP_ARM64_FULL=1 runs every stock-kernel suite there instead.
import { describe, expect, it } from 'vitest';
import { describeHeapConformance } from '@dmaheap/core/testing';
import { kernelHeap, PAGE_SIZE } from '@dmaheap/native';
import { systemHeap } from '@dmaheap/system-heap';
import { allBytes, captureInto, VIVID, withHeap } from '@dmaheap/vm/guest';

describeHeapConformance("kernelHeap('system') on arm64", { open: () => kernelHeap('system') });
describeHeapConformance('systemHeap() on arm64', { open: () => systemHeap() });

describe('vivid (vmalloc queue) captures into arm64 dma-bufs', () => {
  it('the same frame into kernelHeap and systemHeap buffers, every page written', () => {
    const frames = [() => kernelHeap('system'), () => systemHeap()].map((open) =>
      withHeap(open, (heap) => {
        const buf = heap.allocate(VIVID.frameBytes);
        try {
          const { capture, frame } = captureInto(VIVID.vmallocQueue, buf);
          expect(capture.buffer.bytesused).toBe(VIVID.frameBytes);
          return frame;
        } finally {
          buf.close();
        }
      }),
    );
    const [kernel, system] = frames as [Uint8Array, Uint8Array];
    for (let p = 0; p < kernel.length; p += PAGE_SIZE) {
      expect(allBytes(kernel.subarray(p, p + PAGE_SIZE), VIVID.mark), `page at ${p} never written by the device`).toBe(false);
    }
    expect(Buffer.compare(kernel, system), 'the frames differ').toBe(0);
  });
});
