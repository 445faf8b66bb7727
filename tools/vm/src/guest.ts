// What tests running inside the guest share (`@dmaheap/vm/guest`): the vivid capture rig that VM_TEST_SETUP and
// VM_CMA_TEST_SETUP configure (vivid-000 fills buffers through vmalloc, vivid-001 through dma-contig), the
// kernel log, and a heap's fd bookkeeping. Host-side code does not import this.
import { readdirSync, readFileSync } from 'node:fs';
import type { DmaBuf, Heap } from '@dmaheap/core';
import { isSystemError, kernelLogReader, openFdCount } from '@dmaheap/native';
import {
  V4L2_PIX_FMT_YUYV,
  v4l2CaptureDmabuf,
  VIVID_CID_OSD_TEXT_MODE,
  VIVID_CID_TEST_PATTERN,
  VIVID_OSD_TEXT_NONE,
  type V4l2Capture,
} from './rig/v4l2.js';

// The V4L2 and DRM rigs: structs built by hand for the requests the tests make, over the rig's own ioctl.
export * from './rig/v4l2.js';
export * from './rig/drm.js';
export { ioc, iocDecode, ioctl, ior, iow, iowr, IOC_READ, IOC_WRITE } from './rig/ioc.js';
// The model-based fuzz every heap runs.
export { FUZZ_RUNS, fuzzHeap } from './fuzz.js';
export { cHelper } from './rig/c-helper.js';

/** vivid's "100% Color Squares": unlike the default colour bars, rows differ down the frame. */
const TEST_PATTERN_COLOR_SQUARES = 4;

/**
 * The `/dev/videoN` node whose V4L2 name (`/sys/class/video4linux/videoN/name`) is `name`. Numbers depend on
 * which drivers registered first (built into the test kernels, vicodec and vim2m come before vivid), names do not.
 */
export function videoNode(name: string): string {
  const dir = '/sys/class/video4linux';
  for (const node of readdirSync(dir)) {
    if (!node.startsWith('video')) continue;
    if (readFileSync(`${dir}/${node}/name`, 'utf8').trim() === name) return `/dev/${node}`;
  }
  throw new Error(`no video node named ${name} in ${dir}`);
}

/** The capture every test makes: 640×480 YUYV (2 bytes a pixel: 614 400 bytes, 150 pages). */
export const VIVID = {
  /** vivid instance 0: vb2-vmalloc, writes through a kernel mapping of the buffer. */
  get vmallocQueue(): string {
    return videoNode('vivid-000-vid-cap');
  },
  /** vivid instance 1: vb2-dma-contig, takes a dma-buf only when its pages are one DMA-contiguous block. */
  get contigQueue(): string {
    return videoNode('vivid-001-vid-cap');
  },
  width: 640,
  height: 480,
  frameBytes: 640 * 480 * 2,
  /** What a buffer holds before a capture: a page still holding only this was never written by the device. */
  mark: 0xa5,
  format: {
    width: 640,
    height: 480,
    pixelformat: V4L2_PIX_FMT_YUYV,
    // No OSD text: vivid otherwise draws a running time stamp at the top, and frames would differ.
    controls: [
      [VIVID_CID_OSD_TEXT_MODE, VIVID_OSD_TEXT_NONE],
      [VIVID_CID_TEST_PATTERN, TEST_PATTERN_COLOR_SQUARES],
    ] as const,
  },
} as const;

/**
 * Prefills `buf` with the mark, captures one frame into it on `queue` (offering the device the whole buffer:
 * QBUF `length` 0), and returns what the CPU then reads: the frame and the rest of the buffer.
 */
export function captureInto(queue: string, buf: DmaBuf): { capture: V4l2Capture; frame: Uint8Array; tail: Uint8Array } {
  buf.withCpuAccess('write', (view) => view.fill(VIVID.mark));
  const capture = v4l2CaptureDmabuf(queue, buf.fd, VIVID.format);
  const [frame, tail] = buf.withCpuAccess('read', (view) => [view.slice(0, VIVID.frameBytes), view.slice(VIVID.frameBytes)] as const);
  buf.unmap();
  return { capture, frame, tail };
}

/**
 * A capture on the dma-contig queue: the frame, or the refusal (QBUF's errno) with the sizes the kernel logged
 * (vb2_dc_map_dmabuf: "contiguous chunk is too small <contiguous>/<needed>", then EFAULT).
 */
export function tryContig(buf: DmaBuf): { frame?: Uint8Array; capture?: V4l2Capture; errno?: string; contiguous?: number; needed?: number } {
  const kmsg = kmsgReader();
  try {
    const { capture, frame } = captureInto(VIVID.contigQueue, buf);
    return { capture, frame };
  } catch (err) {
    if (!isSystemError(err) || err.syscall !== 'ioctl(VIDIOC_QBUF)') throw err;
    const line = kmsg.read().map((r) => /contiguous chunk is too small (\d+)\/(\d+)/.exec(r)).find((m) => m);
    return { errno: err.code, contiguous: line ? Number(line[1]) : undefined, needed: line ? Number(line[2]) : undefined };
  } finally {
    kmsg.close();
    if (!buf.closed) buf.unmap();
  }
}

/** Kernel log records (`/dev/kmsg`) written after this reader was made (native's reader, drained first). */
export function kmsgReader(): { read(): string[]; close(): void } {
  const log = kernelLogReader();
  if (!log) throw new Error('/dev/kmsg does not open');
  log.read();
  return log;
}

const MiB = 1024 * 1024;
const filled = new Map<number, Uint8Array>();

/** Whether every byte of `view` is `byte` (compared a MiB at a time: callbacks per byte are slow under TCG). */
export function allBytes(view: Uint8Array, byte: number): boolean {
  let ref = filled.get(byte);
  if (!ref) filled.set(byte, (ref = new Uint8Array(MiB).fill(byte)));
  for (let o = 0; o < view.length; o += MiB) {
    const part = view.subarray(o, o + MiB);
    if (Buffer.compare(part, ref.subarray(0, part.length)) !== 0) return false;
  }
  return true;
}

/** Runs `fn` on a fresh heap, closes it, and throws if an fd was left open. */
export function withHeap<T>(open: () => Heap, fn: (heap: Heap) => T): T {
  const fds = openFdCount();
  const heap = open();
  let result: T;
  try {
    result = fn(heap);
  } finally {
    heap.close();
  }
  const now = openFdCount();
  if (now !== fds) throw new Error(`the heap left ${now - fds} fd(s) open (${fds} before, ${now} after)`);
  return result;
}
