// The layouts of the structs the rigs build by hand with DataView, and of those the addon builds in C (from the
// kernel's headers, listed so a test can hold the headers of each architecture to them): size and the offset of
// every field the code reads or writes. rig/layouts.c prints the same from the headers with sizeof/offsetof;
// layouts.test.ts compiles it for x86_64 and for arm64 (run under qemu-user) and compares.
export interface Layout {
  size: number;
  fields: Record<string, number>;
}

export const LAYOUTS = {
  // The addon's (c/heaps.c, c/sync_file.c, c/udmabuf.c): built in C, from <linux/dma-heap.h>, <linux/dma-buf.h>,
  // <linux/udmabuf.h>.
  dma_heap_allocation_data: { size: 24, fields: { len: 0, fd: 8, fd_flags: 12, heap_flags: 16 } },
  dma_buf_sync: { size: 8, fields: { flags: 0 } },
  dma_buf_export_sync_file: { size: 8, fields: { flags: 0, fd: 4 } },
  dma_buf_import_sync_file: { size: 8, fields: { flags: 0, fd: 4 } },
  udmabuf_create: { size: 24, fields: { memfd: 0, flags: 4, offset: 8, size: 16 } },
  udmabuf_create_list: { size: 8, fields: { flags: 0, count: 4, list: 8 } },
  udmabuf_create_item: { size: 24, fields: { memfd: 0, offset: 8, size: 16 } },
  // The V4L2 rig's (v4l2.ts), from <linux/videodev2.h>.
  v4l2_capability: { size: 104, fields: { driver: 0, card: 16, bus_info: 48, version: 80, capabilities: 84, device_caps: 88 } },
  v4l2_format: { size: 208, fields: { type: 0, fmt: 8 } },
  v4l2_pix_format: { size: 48, fields: { width: 0, height: 4, pixelformat: 8, field: 12, bytesperline: 16, sizeimage: 20, colorspace: 24 } },
  v4l2_requestbuffers: { size: 20, fields: { count: 0, type: 4, memory: 8, capabilities: 12 } },
  v4l2_buffer: { size: 88, fields: { index: 0, type: 4, bytesused: 8, flags: 12, field: 16, sequence: 56, memory: 60, m: 64, length: 72 } },
  v4l2_control: { size: 8, fields: { id: 0, value: 4 } },
  // The DRM rig's (drm.ts), from <drm/drm.h>, <drm/drm_mode.h>, <drm/vgem_drm.h>.
  drm_gem_close: { size: 8, fields: { handle: 0 } },
  drm_get_cap: { size: 16, fields: { capability: 0, value: 8 } },
  drm_prime_handle: { size: 12, fields: { handle: 0, flags: 4, fd: 8 } },
  drm_mode_create_dumb: { size: 32, fields: { height: 0, width: 4, bpp: 8, handle: 16, pitch: 20, size: 24 } },
  drm_mode_map_dumb: { size: 16, fields: { handle: 0, offset: 8 } },
  drm_mode_destroy_dumb: { size: 4, fields: { handle: 0 } },
  drm_vgem_fence_attach: { size: 16, fields: { handle: 0, flags: 4, out_fence: 8 } },
  drm_vgem_fence_signal: { size: 8, fields: { fence: 0, flags: 4 } },
} satisfies Record<string, Layout>;
