// V4L2 video capture into dma-bufs (V4L2_MEMORY_DMABUF): the few ioctls a test needs to let a real
// device (vivid) write a frame into a dma-buf. Structs are built with DataView in the layouts of
// <linux/videodev2.h> (./layouts.ts: held to the headers of x86_64 and arm64 by layouts.test.ts); request numbers are
// computed with the _IOC encoding of <asm-generic/ioctl.h>. Failures are system errors named after the
// request, e.g. `EFAULT: bad address, ioctl(VIDIOC_QBUF)`.
import { closeFd, constants, openDevice } from '@dmaheap/native';
import { ior, iow, iowr, ioctl } from './ioc.js';
import { LAYOUTS } from './layouts.js';

const CAP = LAYOUTS.v4l2_capability.fields;
const FMT = LAYOUTS.v4l2_format.fields;
const PIX = LAYOUTS.v4l2_pix_format.fields;
const REQ = LAYOUTS.v4l2_requestbuffers.fields;
const BUF = LAYOUTS.v4l2_buffer.fields;
const CTRL = LAYOUTS.v4l2_control.fields;

/* ---------------- request numbers ---------------- */


/** `struct v4l2_capability`: driver[16] card[32] bus_info[32] version capabilities device_caps reserved[3]. */
export const V4L2_CAPABILITY_SIZE = LAYOUTS.v4l2_capability.size;
/** `struct v4l2_format`: u32 type, then (8-aligned: v4l2_window holds pointers) a 200-byte union. */
export const V4L2_FORMAT_SIZE = LAYOUTS.v4l2_format.size;
/** `struct v4l2_requestbuffers`: count type memory capabilities, u8 flags, u8 reserved[3]. */
export const V4L2_REQUESTBUFFERS_SIZE = LAYOUTS.v4l2_requestbuffers.size;
/** `struct v4l2_buffer` on 64-bit: timeval timestamp at 24, union m at 64 (8 bytes), padded to 88. */
export const V4L2_BUFFER_SIZE = LAYOUTS.v4l2_buffer.size;
/** `struct v4l2_control`: u32 id, s32 value. */
export const V4L2_CONTROL_SIZE = LAYOUTS.v4l2_control.size;

export const VIDIOC_QUERYCAP = ior('V', 0, V4L2_CAPABILITY_SIZE);
export const VIDIOC_G_FMT = iowr('V', 4, V4L2_FORMAT_SIZE);
export const VIDIOC_S_FMT = iowr('V', 5, V4L2_FORMAT_SIZE);
export const VIDIOC_REQBUFS = iowr('V', 8, V4L2_REQUESTBUFFERS_SIZE);
export const VIDIOC_QBUF = iowr('V', 15, V4L2_BUFFER_SIZE);
export const VIDIOC_DQBUF = iowr('V', 17, V4L2_BUFFER_SIZE);
/** Argument: `int` buffer type. */
export const VIDIOC_STREAMON = iow('V', 18, 4);
export const VIDIOC_STREAMOFF = iow('V', 19, 4);
export const VIDIOC_G_CTRL = iowr('V', 27, V4L2_CONTROL_SIZE);
export const VIDIOC_S_CTRL = iowr('V', 28, V4L2_CONTROL_SIZE);

/* ---------------- constants ---------------- */

export const V4L2_BUF_TYPE_VIDEO_CAPTURE = 1;
export const V4L2_MEMORY_MMAP = 1;
export const V4L2_MEMORY_USERPTR = 2;
export const V4L2_MEMORY_DMABUF = 4;
export const V4L2_FIELD_ANY = 0;
export const V4L2_FIELD_NONE = 1;
export const V4L2_CAP_VIDEO_CAPTURE = 0x00000001;
export const V4L2_CAP_STREAMING = 0x04000000;
export const V4L2_CAP_DEVICE_CAPS = 0x80000000;
/** `v4l2_requestbuffers.capabilities` bit: the queue takes dma-bufs. */
export const V4L2_BUF_CAP_SUPPORTS_DMABUF = 0x00000004;
export const V4L2_BUF_FLAG_MAPPED = 0x00000001;
export const V4L2_BUF_FLAG_QUEUED = 0x00000002;
export const V4L2_BUF_FLAG_DONE = 0x00000004;
export const V4L2_BUF_FLAG_ERROR = 0x00000040;

/** A fourcc code as V4L2 packs it (first character in the low byte). */
export function v4l2Fourcc(code: string): number {
  if (code.length !== 4) throw new RangeError(`a fourcc has 4 characters, got ${JSON.stringify(code)}`);
  return (code.charCodeAt(0) | (code.charCodeAt(1) << 8) | (code.charCodeAt(2) << 16) | (code.charCodeAt(3) << 24)) >>> 0;
}
export const V4L2_PIX_FMT_YUYV = v4l2Fourcc('YUYV');

/** vivid's private controls (drivers/media/test-drivers/vivid/vivid-ctrls.c: VIVID_CID_VIVID_BASE = 0x00f0f000). */
export const VIVID_CID_TEST_PATTERN = 0x00f0f000;
/** Menu: 0 all text, 1 counters only, 2 none (vivid_fillbuff draws no text when 2). */
export const VIVID_CID_OSD_TEXT_MODE = 0x00f0f001;
export const VIVID_OSD_TEXT_NONE = 2;

/* ---------------- calls ---------------- */

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString('utf8');
}

/** Opens a V4L2 device node read-write (blocking, close-on-exec); close it with `closeFd`. */
export function v4l2Open(path: string): number {
  return openDevice(path, constants.O_RDWR);
}

export interface V4l2Capability {
  driver: string;
  card: string;
  busInfo: string;
  version: number;
  capabilities: number;
  /** The capabilities of this node (valid when `capabilities` has V4L2_CAP_DEVICE_CAPS). */
  deviceCaps: number;
}

/** VIDIOC_QUERYCAP. */
export function v4l2QueryCap(fd: number): V4l2Capability {
  const b = new Uint8Array(V4L2_CAPABILITY_SIZE);
  ioctl(fd, VIDIOC_QUERYCAP, b, 'VIDIOC_QUERYCAP');
  const v = new DataView(b.buffer);
  return {
    driver: cString(b.subarray(CAP.driver, CAP.card)),
    card: cString(b.subarray(CAP.card, CAP.bus_info)),
    busInfo: cString(b.subarray(CAP.bus_info, CAP.version)),
    version: v.getUint32(CAP.version, true),
    capabilities: v.getUint32(CAP.capabilities, true),
    deviceCaps: v.getUint32(CAP.device_caps, true),
  };
}

/** `struct v4l2_pix_format` (single-planar), as the driver adjusted it. */
export interface V4l2PixFormat {
  width: number;
  height: number;
  pixelformat: number;
  field: number;
  bytesperline: number;
  sizeimage: number;
  colorspace: number;
}

function readPix(v: DataView): V4l2PixFormat {
  const o = FMT.fmt; // the union inside struct v4l2_format
  return {
    width: v.getUint32(o + PIX.width, true),
    height: v.getUint32(o + PIX.height, true),
    pixelformat: v.getUint32(o + PIX.pixelformat, true),
    field: v.getUint32(o + PIX.field, true),
    bytesperline: v.getUint32(o + PIX.bytesperline, true),
    sizeimage: v.getUint32(o + PIX.sizeimage, true),
    colorspace: v.getUint32(o + PIX.colorspace, true),
  };
}

/**
 * VIDIOC_S_FMT for a single-planar capture queue.
 *
 * @returns the format the driver chose (it may adjust what was asked)
 */
export function v4l2SetFormat(fd: number, format: { width: number; height: number; pixelformat: number; field?: number }): V4l2PixFormat {
  const b = new Uint8Array(V4L2_FORMAT_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(FMT.type, V4L2_BUF_TYPE_VIDEO_CAPTURE, true);
  v.setUint32(FMT.fmt + PIX.width, format.width, true);
  v.setUint32(FMT.fmt + PIX.height, format.height, true);
  v.setUint32(FMT.fmt + PIX.pixelformat, format.pixelformat, true);
  v.setUint32(FMT.fmt + PIX.field, format.field ?? V4L2_FIELD_NONE, true);
  ioctl(fd, VIDIOC_S_FMT, b, 'VIDIOC_S_FMT');
  return readPix(v);
}

/** VIDIOC_G_FMT of the single-planar capture queue. */
export function v4l2GetFormat(fd: number): V4l2PixFormat {
  const b = new Uint8Array(V4L2_FORMAT_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(FMT.type, V4L2_BUF_TYPE_VIDEO_CAPTURE, true);
  ioctl(fd, VIDIOC_G_FMT, b, 'VIDIOC_G_FMT');
  return readPix(v);
}

/**
 * VIDIOC_REQBUFS on the capture queue. `count: 0` frees the queue's buffers (and drops its dma-buf
 * attachments).
 *
 * @returns the number of buffers granted and the queue's `V4L2_BUF_CAP_*` capabilities
 */
export function v4l2RequestBuffers(fd: number, count: number, memory: number = V4L2_MEMORY_DMABUF): { count: number; capabilities: number } {
  const b = new Uint8Array(V4L2_REQUESTBUFFERS_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(REQ.count, count, true);
  v.setUint32(REQ.type, V4L2_BUF_TYPE_VIDEO_CAPTURE, true);
  v.setUint32(REQ.memory, memory, true);
  ioctl(fd, VIDIOC_REQBUFS, b, 'VIDIOC_REQBUFS');
  return { count: v.getUint32(REQ.count, true), capabilities: v.getUint32(REQ.capabilities, true) };
}

/**
 * VIDIOC_QBUF of a dma-buf on the capture queue.
 *
 * @param buffer.fd - the dma-buf (the queue imports it here; refusals such as EFAULT show here)
 * @param buffer.length - bytes of the dma-buf the device may use; 0 means the whole dma-buf
 */
export function v4l2QueueDmabuf(fd: number, buffer: { index: number; fd: number; length?: number }): void {
  const b = new Uint8Array(V4L2_BUFFER_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(BUF.index, buffer.index, true);
  v.setUint32(BUF.type, V4L2_BUF_TYPE_VIDEO_CAPTURE, true);
  v.setUint32(BUF.memory, V4L2_MEMORY_DMABUF, true);
  v.setInt32(BUF.m, buffer.fd, true); // m.fd
  v.setUint32(BUF.length, buffer.length ?? 0, true);
  ioctl(fd, VIDIOC_QBUF, b, 'VIDIOC_QBUF');
}

/** A buffer as VIDIOC_DQBUF returns it. */
export interface V4l2DequeuedBuffer {
  index: number;
  /** Bytes of data the device wrote. */
  bytesused: number;
  /** `V4L2_BUF_FLAG_*`; `V4L2_BUF_FLAG_ERROR` marks a frame the device reports as bad. */
  flags: number;
  field: number;
  sequence: number;
  /** `m.fd`: the dma-buf fd that was queued. */
  fd: number;
  length: number;
}

/** VIDIOC_DQBUF on the capture queue; blocks until a buffer is done (the device is opened blocking). */
export function v4l2Dequeue(fd: number, memory: number = V4L2_MEMORY_DMABUF): V4l2DequeuedBuffer {
  const b = new Uint8Array(V4L2_BUFFER_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(BUF.type, V4L2_BUF_TYPE_VIDEO_CAPTURE, true);
  v.setUint32(BUF.memory, memory, true);
  ioctl(fd, VIDIOC_DQBUF, b, 'VIDIOC_DQBUF');
  return {
    index: v.getUint32(BUF.index, true),
    bytesused: v.getUint32(BUF.bytesused, true),
    flags: v.getUint32(BUF.flags, true),
    field: v.getUint32(BUF.field, true),
    sequence: v.getUint32(BUF.sequence, true),
    fd: v.getInt32(BUF.m, true),
    length: v.getUint32(BUF.length, true),
  };
}

function typeArg(): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, V4L2_BUF_TYPE_VIDEO_CAPTURE, true);
  return b;
}

/** VIDIOC_STREAMON on the capture queue. */
export function v4l2StreamOn(fd: number): void {
  ioctl(fd, VIDIOC_STREAMON, typeArg(), 'VIDIOC_STREAMON');
}

/** VIDIOC_STREAMOFF on the capture queue (returns every queued buffer to userspace, undone). */
export function v4l2StreamOff(fd: number): void {
  ioctl(fd, VIDIOC_STREAMOFF, typeArg(), 'VIDIOC_STREAMOFF');
}

/** VIDIOC_S_CTRL; returns the value the driver stored. */
export function v4l2SetControl(fd: number, id: number, value: number): number {
  const b = new Uint8Array(V4L2_CONTROL_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(CTRL.id, id, true);
  v.setInt32(CTRL.value, value, true);
  ioctl(fd, VIDIOC_S_CTRL, b, 'VIDIOC_S_CTRL');
  return v.getInt32(CTRL.value, true);
}

/** VIDIOC_G_CTRL. */
export function v4l2GetControl(fd: number, id: number): number {
  const b = new Uint8Array(V4L2_CONTROL_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(CTRL.id, id, true);
  ioctl(fd, VIDIOC_G_CTRL, b, 'VIDIOC_G_CTRL');
  return v.getInt32(CTRL.value, true);
}

/** What {@link v4l2CaptureDmabuf} reports. */
export interface V4l2Capture {
  format: V4l2PixFormat;
  buffer: V4l2DequeuedBuffer;
}

/**
 * Captures one frame into a dma-buf, from scratch: open the node, set the format, set controls,
 * REQBUFS(1, DMABUF), QBUF the dma-buf, STREAMON, DQBUF, STREAMOFF, REQBUFS(0), close. When it
 * returns or throws, the device holds no reference to the dma-buf any more.
 *
 * @param options.length - bytes of the dma-buf offered to the device (QBUF `length`; 0 = all of it)
 * @param options.controls - `[id, value]` pairs set with VIDIOC_S_CTRL before streaming
 */
export function v4l2CaptureDmabuf(
  path: string,
  dmabufFd: number,
  options: { width: number; height: number; pixelformat: number; length?: number; controls?: readonly (readonly [number, number])[] },
): V4l2Capture {
  const fd = v4l2Open(path);
  try {
    const format = v4l2SetFormat(fd, options);
    for (const [id, value] of options.controls ?? []) v4l2SetControl(fd, id, value);
    v4l2RequestBuffers(fd, 1);
    try {
      v4l2QueueDmabuf(fd, { index: 0, fd: dmabufFd, length: options.length ?? 0 });
      v4l2StreamOn(fd);
      try {
        return { format, buffer: v4l2Dequeue(fd) };
      } finally {
        v4l2StreamOff(fd);
      }
    } finally {
      v4l2RequestBuffers(fd, 0);
    }
  } finally {
    closeFd(fd);
  }
}
