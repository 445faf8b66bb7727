// Contiguity proven by a device, in the CMA VM. Userspace cannot see a dma-buf's frames through its own mmap
// (the CMA heap maps with VM_PFNMAP, so /proc/self/pagemap reports every page absent): a real importer that
// needs contiguous memory is the proof. vivid's second instance (/dev/video1, allocators=1) captures through
// vb2-dma-contig, which takes a dma-buf only when its pages are one DMA-contiguous block, and refuses others
// with EFAULT ("contiguous chunk is too small"). The CPU then reads the frame the device wrote.
// The kernel command line carries vivid.n_devs=2 vivid.allocators=0,1 vivid.node_types=0x1,0x1.
import { beforeAll, describe, expect, it } from 'vitest';
import type { DmaBuf } from '@dmaheap/core';
import { closeFd, kernelHeap, mappingAddress, pagemap } from '@dmaheap/native';
import { bufferPool } from '@dmaheap/pagepool';
// The V4L2 rig (structs built by hand for these tests) lives in the test bed, not in a published package.
import { allBytes, captureInto, tryContig, V4L2_BUF_FLAG_ERROR, v4l2Open, v4l2QueryCap, VIVID, withHeap } from '@dmaheap/vm/guest';
import { cmaHeap, type CmaBuffer } from './index.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const PAGE = 4096;
const { vmallocQueue: VMALLOC_QUEUE, contigQueue: CONTIG_QUEUE, width: WIDTH, frameBytes: FRAME, mark: MARK } = VIVID;

/** A capture on the dma-contig queue: the frame (checked complete), or the refusal with the sizes the kernel logged. */
function contig(buf: DmaBuf): ReturnType<typeof tryContig> {
  const r = tryContig(buf);
  if (r.capture) {
    expect(r.capture.buffer.bytesused).toBe(FRAME);
    expect(r.capture.buffer.flags & V4L2_BUF_FLAG_ERROR).toBe(0);
  }
  return r;
}

/** One frame on the vmalloc queue: what the device reported and what the CPU reads. */
function capture(queue: string, buf: DmaBuf): { bytesused: number; flags: number; frame: Uint8Array; tail: Uint8Array } {
  const { capture: c, frame, tail } = captureInto(queue, buf);
  return { bytesused: c.buffer.bytesused, flags: c.buffer.flags, frame, tail };
}

let reference: Uint8Array;

beforeAll(() => {
  // The reference frame: vivid's vmalloc queue into a kernel system heap buffer (known good, VM.md).
  withHeap(
    () => kernelHeap('system'),
    (heap) => {
      const buf = heap.allocate(FRAME);
      try {
        const r = capture(VMALLOC_QUEUE, buf);
        expect(r.bytesused).toBe(FRAME);
        reference = r.frame;
      } finally {
        buf.close();
      }
    },
  );
});

describe('vivid in the CMA kernel', () => {
  it('gives a vmalloc and a dma-contig capture queue, built in and configured from the command line', () => {
    for (const path of [VMALLOC_QUEUE, CONTIG_QUEUE]) {
      const fd = v4l2Open(path);
      try {
        expect(v4l2QueryCap(fd).driver).toBe('vivid');
      } finally {
        closeFd(fd);
      }
    }
    // A real picture: the colour squares differ down the frame, and the device wrote every page.
    const distinct = new Set<string>();
    for (let p = 0; p < FRAME / PAGE; p++) distinct.add(Buffer.from(reference.subarray(p * PAGE, (p + 1) * PAGE)).toString('base64'));
    expect(distinct.size).toBeGreaterThan(10);
    expect(reference.some((b) => b !== MARK)).toBe(true);
  });

  it("userspace cannot see a CMA buffer's frames through its own mapping: pagemap reports the pages absent", () => {
    withHeap(
      () => cmaHeap(),
      (heap) => {
        using buf = heap.allocate(16 * PAGE);
        const view = buf.withCpuAccess('write', (v) => {
          v.fill(1); // every page faulted in
          return v;
        });
        expect(mappingAddress(view.buffer as ArrayBuffer)).not.toBe(0n);
        const pages = pagemap(view.buffer as ArrayBuffer);
        expect(pages.length).toBe(16);
        expect(pages.every((p) => !p.present)).toBe(true); // VM_PFNMAP: the page walker skips it
      },
    );
  });
});

describe('the dma-contig queue takes CMA buffers, and the CPU reads the frame the device wrote', () => {
  const cases: Array<{ label: string; size: number }> = [
    { label: 'one frame (150 pages)', size: FRAME },
    { label: '4 MiB', size: 4 * MiB },
    { label: '32 MiB', size: 32 * MiB },
  ];
  for (const c of cases) {
    it(`cmaHeap(), ${c.label}`, () => {
      withHeap(
        () => cmaHeap({ locate: true }),
        (heap) => {
          const buf = heap.allocate(c.size) as CmaBuffer;
          try {
            const r = contig(buf);
            expect(r.errno, `refused: contiguous ${r.contiguous}/${r.needed}`).toBeUndefined();
            expect(Buffer.compare(r.frame!, reference)).toBe(0);
            // The allocator's bitmap agrees: one run of frames.
            expect(buf.placement.contiguous).toBe(true);
            // The device let go of it again.
            expect(buf.info().count).toBe(1);
          } finally {
            buf.close();
          }
        },
      );
    });
  }

  it('the frame is also what a page-range mapping of the buffer reads', () => {
    withHeap(
      () => cmaHeap(),
      (heap) => {
        const buf = heap.allocate(8 * MiB) as CmaBuffer;
        try {
          expect(contig(buf).errno).toBeUndefined();
          // The last rows of the frame, through a mapping of just their pages.
          buf.beginCpuAccess('read');
          const rows = buf.map(FRAME - 10 * WIDTH * 2, 10 * WIDTH * 2);
          expect(Buffer.compare(rows, reference.subarray(FRAME - 10 * WIDTH * 2))).toBe(0);
          buf.endCpuAccess('read');
        } finally {
          buf.close();
        }
      },
    );
  });

  it('bufferPool(cmaHeap()): a recycled buffer comes back zeroed and the device writes it correctly again', () => {
    withHeap(
      () => bufferPool(cmaHeap()),
      (pool) => {
        const first = pool.allocate(FRAME);
        expect(Buffer.compare(contig(first).frame!, reference)).toBe(0);
        first.close();
        const again = pool.allocate(FRAME);
        try {
          expect(pool.stats().hits).toBe(1);
          expect(again.withCpuAccess('read', (v) => allBytes(v, 0))).toBe(true);
          expect(Buffer.compare(contig(again).frame!, reference)).toBe(0);
        } finally {
          again.close();
        }
      },
    );
  });
});

describe('the same queue refuses what is not contiguous (so the check can fail)', () => {
  it('a kernel system heap buffer of 4 MiB (1 MiB chunks at most) is refused with EFAULT', () => {
    // The system heap takes 1 MiB chunks at most; four of them are one block when the buddy allocator hands
    // out adjacent ones in order, as a freshly booted one does. So free memory is fragmented first: of 16
    // chunks held, every other one is given back while its neighbours stay held, and the next 1 MiB chunks come
    // from those. Up to four tries, each held while the next is made.
    withHeap(
      () => kernelHeap('system'),
      (heap) => {
        const held: DmaBuf[] = Array.from({ length: 16 }, () => heap.allocate(MiB));
        for (const [i, b] of held.entries()) if (i % 2 === 0) b.close();
        const outcomes: string[] = [];
        try {
          for (let i = 0; i < 4; i++) {
            const buf = heap.allocate(4 * MiB);
            held.push(buf);
            const r = contig(buf);
            if (r.errno) {
              outcomes.push(`refused (${r.errno}, contiguous ${r.contiguous}/${r.needed})`);
              expect(r.errno).toBe('EFAULT');
              expect(r.needed).toBe(4 * MiB);
              expect(r.contiguous).toBeLessThan(4 * MiB);
              expect(r.contiguous).toBeGreaterThanOrEqual(MiB);
              break;
            }
            outcomes.push('taken (its chunks happened to be adjacent)');
            expect(Buffer.compare(r.frame!, reference)).toBe(0);
          }
          console.info(`kernel system heap, 4 MiB on the dma-contig queue: ${outcomes.join('; ')}`);
          expect(outcomes.at(-1)).toMatch(/^refused/);
        } finally {
          for (const b of held) if (!b.closed) b.close();
        }
      },
    );
  });

  it('the vmalloc queue takes that same kind of buffer: the refusal is about contiguity, not the buffer', () => {
    withHeap(
      () => kernelHeap('system'),
      (heap) => {
        using buf = heap.allocate(4 * MiB);
        const r = capture(VMALLOC_QUEUE, buf);
        expect(Buffer.compare(r.frame, reference)).toBe(0);
        expect(allBytes(r.tail, MARK)).toBe(true);
      },
    );
  });
});
