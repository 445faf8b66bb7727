// Prints the layouts of rig/layouts.ts from this architecture's kernel headers: sizeof and offsetof, as JSON.
// Compiled and run by src/rig/layouts.test.ts for x86_64 and for arm64.
#include <stddef.h>
#include <stdio.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <linux/videodev2.h>
#include <drm/drm.h>
#include <drm/drm_mode.h>
#include <drm/vgem_drm.h>

#define F(s, f) printf("%s\"%s\":%zu", first++ ? "," : "", #f, offsetof(struct s, f))
#define S(s, body) do { int first = 0; printf("%s\"%s\":{\"size\":%zu,\"fields\":{", n++ ? "," : "", #s, sizeof(struct s)); body; printf("}}"); } while (0)

int main(void) {
  int n = 0;
  printf("{");
  S(dma_heap_allocation_data, F(dma_heap_allocation_data, len); F(dma_heap_allocation_data, fd); F(dma_heap_allocation_data, fd_flags); F(dma_heap_allocation_data, heap_flags););
  S(dma_buf_sync, F(dma_buf_sync, flags););
  S(dma_buf_export_sync_file, F(dma_buf_export_sync_file, flags); F(dma_buf_export_sync_file, fd););
  S(dma_buf_import_sync_file, F(dma_buf_import_sync_file, flags); F(dma_buf_import_sync_file, fd););
  S(udmabuf_create, F(udmabuf_create, memfd); F(udmabuf_create, flags); F(udmabuf_create, offset); F(udmabuf_create, size););
  S(udmabuf_create_list, F(udmabuf_create_list, flags); F(udmabuf_create_list, count); F(udmabuf_create_list, list););
  S(udmabuf_create_item, F(udmabuf_create_item, memfd); F(udmabuf_create_item, offset); F(udmabuf_create_item, size););
  S(v4l2_capability, F(v4l2_capability, driver); F(v4l2_capability, card); F(v4l2_capability, bus_info); F(v4l2_capability, version); F(v4l2_capability, capabilities); F(v4l2_capability, device_caps););
  S(v4l2_format, F(v4l2_format, type); F(v4l2_format, fmt););
  S(v4l2_pix_format, F(v4l2_pix_format, width); F(v4l2_pix_format, height); F(v4l2_pix_format, pixelformat); F(v4l2_pix_format, field); F(v4l2_pix_format, bytesperline); F(v4l2_pix_format, sizeimage); F(v4l2_pix_format, colorspace););
  S(v4l2_requestbuffers, F(v4l2_requestbuffers, count); F(v4l2_requestbuffers, type); F(v4l2_requestbuffers, memory); F(v4l2_requestbuffers, capabilities););
  S(v4l2_buffer, F(v4l2_buffer, index); F(v4l2_buffer, type); F(v4l2_buffer, bytesused); F(v4l2_buffer, flags); F(v4l2_buffer, field); F(v4l2_buffer, sequence); F(v4l2_buffer, memory); F(v4l2_buffer, m); F(v4l2_buffer, length););
  S(v4l2_control, F(v4l2_control, id); F(v4l2_control, value););
  S(drm_gem_close, F(drm_gem_close, handle););
  S(drm_get_cap, F(drm_get_cap, capability); F(drm_get_cap, value););
  S(drm_prime_handle, F(drm_prime_handle, handle); F(drm_prime_handle, flags); F(drm_prime_handle, fd););
  S(drm_mode_create_dumb, F(drm_mode_create_dumb, height); F(drm_mode_create_dumb, width); F(drm_mode_create_dumb, bpp); F(drm_mode_create_dumb, handle); F(drm_mode_create_dumb, pitch); F(drm_mode_create_dumb, size););
  S(drm_mode_map_dumb, F(drm_mode_map_dumb, handle); F(drm_mode_map_dumb, offset););
  S(drm_mode_destroy_dumb, F(drm_mode_destroy_dumb, handle););
  S(drm_vgem_fence_attach, F(drm_vgem_fence_attach, handle); F(drm_vgem_fence_attach, flags); F(drm_vgem_fence_attach, out_fence););
  S(drm_vgem_fence_signal, F(drm_vgem_fence_signal, fence); F(drm_vgem_fence_signal, flags););
  printf("}\n");
  return 0;
}
