// Contiguity proven by a device, in the CMA VM. Userspace cannot see a dma-buf's frames through its own mmap
// (the CMA heap maps with VM_PFNMAP, so /proc/self/pagemap reports every page absent): a real importer that
// needs contiguous memory is the proof. vivid's second instance (/dev/video1, allocators=1) captures through
// vb2-dma-contig, which takes a dma-buf only when its pages are one DMA-contiguous block, and refuses others
// with EFAULT ("contiguous chunk is too small"). The CPU then reads the frame the device wrote.
// The kernel command line carries vivid.n_devs=2 vivid.allocators=0,1 vivid.node_types=0x1,0x1.
import { closeSync, openSync, readSync, constants as fsConstants } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DmaBuf, Heap } from '@dmaheap/core';
import { closeFd, isSystemError, kernelHeap, mappingAddress, openFdCount, pagemap } from '@dmaheap/native';
// The V4L2 helpers (struct layouts and request numbers) from @dmaheap/native.
import {
  V4L2_BUF_FLAG_ERROR,
  V4L2_PIX_FMT_YUYV,
  VIVID_CID_OSD_TEXT_MODE,
  VIVID_CID_TEST_PATTERN,
  VIVID_OSD_TEXT_NONE,
  v4l2CaptureDmabuf,
  v4l2Open,
  v4l2QueryCap,
} from '@dmaheap/native';
import { bufferPool } from '@dmaheap/pagepool';
import { cmaHeap, type CmaBuffer } from './index.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const PAGE = 4096;
const WIDTH = 640;
const HEIGHT = 480;
/** 640×480 YUYV: 614 400 bytes, 150 pages. */
const FRAME = WIDTH * HEIGHT * 2;
const MARK = 0xa5;
const VMALLOC_QUEUE = '/dev/video0';
const CONTIG_QUEUE = '/dev/video1';
const TEST_PATTERN_COLOR_SQUARES = 4;
const CAPTURE = {
  width: WIDTH,
  height: HEIGHT,
  pixelformat: V4L2_PIX_FMT_YUYV,
  controls: [
    [VIVID_CID_OSD_TEXT_MODE, VIVID_OSD_TEXT_NONE],
    [VIVID_CID_TEST_PATTERN, TEST_PATTERN_COLOR_SQUARES],
  ] as const,
};

/** Kernel log records written after this reader was made. */
function kmsgReader(): { read(): string[]; close(): void } {
  const fd = openSync('/dev/kmsg', fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  const chunk = Buffer.alloc(8192);
  const drain = (): string[] => {
    const out: string[] = [];
    for (;;) {
      try {
        const n = readSync(fd, chunk, 0, chunk.length, null);
        out.push(chunk.toString('utf8', 0, n));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') return out;
        if (code !== 'EPIPE') throw err;
      }
    }
  };
  drain();
  return { read: drain, close: () => closeSync(fd) };
}

/** Fills the buffer with MARK, captures one frame into it, and returns what the CPU reads afterwards. */
function capture(path: string, buf: DmaBuf): { bytesused: number; flags: number; frame: Uint8Array; tail: Uint8Array } {
  buf.withCpuAccess('write', (v) => v.fill(MARK));
  const c = v4l2CaptureDmabuf(path, buf.fd, CAPTURE);
  const [frame, tail] = buf.withCpuAccess('read', (v) => [v.slice(0, FRAME), v.slice(FRAME)] as const);
  buf.unmap();
  return { bytesused: c.buffer.bytesused, flags: c.buffer.flags, frame, tail };
}

/** A capture on the dma-contig queue: the frame, or the refusal with the sizes the kernel logged. */
function tryContig(buf: DmaBuf): { frame?: Uint8Array; errno?: string; contiguous?: number; needed?: number } {
  const kmsg = kmsgReader();
  try {
    const r = capture(CONTIG_QUEUE, buf);
    expect(r.bytesused).toBe(FRAME);
    expect(r.flags & V4L2_BUF_FLAG_ERROR).toBe(0);
    return { frame: r.frame };
  } catch (err) {
    if (!isSystemError(err) || err.syscall !== 'ioctl(VIDIOC_QBUF)') throw err;
    const m = kmsg.read().map((rec) => /contiguous chunk is too small (\d+)\/(\d+)/.exec(rec)).find((x) => x);
    return { errno: err.code, contiguous: m ? Number(m[1]) : undefined, needed: m ? Number(m[2]) : undefined };
  } finally {
    kmsg.close();
    if (!buf.closed) buf.unmap();
  }
}

function allBytes(view: Uint8Array, byte: number): boolean {
  const ref = new Uint8Array(Math.min(view.length, MiB)).fill(byte);
  for (let o = 0; o < view.length; o += MiB) {
    const part = view.subarray(o, o + MiB);
    if (Buffer.compare(part, ref.subarray(0, part.length)) !== 0) return false;
  }
  return true;
}

function withHeap<T>(open: () => Heap, fn: (heap: Heap) => T): T {
  const fds = openFdCount();
  const heap = open();
  try {
    return fn(heap);
  } finally {
    heap.close();
    expect(openFdCount()).toBe(fds);
  }
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
            const r = tryContig(buf);
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
          expect(tryContig(buf).errno).toBeUndefined();
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
        expect(Buffer.compare(tryContig(first).frame!, reference)).toBe(0);
        first.close();
        const again = pool.allocate(FRAME);
        try {
          expect(pool.stats().hits).toBe(1);
          expect(again.withCpuAccess('read', (v) => allBytes(v, 0))).toBe(true);
          expect(Buffer.compare(tryContig(again).frame!, reference)).toBe(0);
        } finally {
          again.close();
        }
      },
    );
  });
});

describe('the same queue refuses what is not contiguous (so the check can fail)', () => {
  it('a kernel system heap buffer of 4 MiB (1 MiB chunks at most) is refused with EFAULT', () => {
    // The system heap takes 1 MiB chunks at most; four of them are one block only if the buddy allocator
    // happens to hand out adjacent ones in order. Up to four tries, each held while the next is made.
    withHeap(
      () => kernelHeap('system'),
      (heap) => {
        const held: DmaBuf[] = [];
        const outcomes: string[] = [];
        try {
          for (let i = 0; i < 4; i++) {
            const buf = heap.allocate(4 * MiB);
            held.push(buf);
            const r = tryContig(buf);
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
          for (const b of held) b.close();
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
