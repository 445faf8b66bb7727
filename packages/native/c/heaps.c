// dma-buf heaps and dma-bufs: DMA_HEAP_IOCTL_ALLOC (heapAlloc), DMA_BUF_IOCTL_SYNC and DMA_BUF_SET_NAME_B. Every
// new dma-buf fd is recorded against the environment that asked for it.
#include "args.h"

// heapAlloc(heapFd, len, fdFlags, heapFlags) -> DMA_HEAP_IOCTL_ALLOC -> new dma-buf fd | -errno
napi_value js_heap_alloc(napi_env env, napi_callback_info info) {
  ARGV(4);
  ARG_INT32(heapFd, 0);
  ARG_INT64(len, 1);
  ARG_INT64(fdFlags, 2);
  ARG_INT64(heapFlags, 3);
  struct dma_heap_allocation_data d = {.len = (uint64_t)len, .fd = 0, .fd_flags = (uint32_t)fdFlags,
                                        .heap_flags = (uint64_t)heapFlags}; /* zero-initialised */
  if (ioctl(heapFd, DMA_HEAP_IOCTL_ALLOC, &d) < 0) return num(env, -errno);
  return num(env, own(env, d.fd));
}

// bufSync(fd, flags) -> DMA_BUF_IOCTL_SYNC, restarted while EINTR/EAGAIN -> 0 | -errno
napi_value js_buf_sync(napi_env env, napi_callback_info info) {
  ARGV(2);
  ARG_INT32(fd, 0);
  ARG_INT64(flags, 1);
  struct dma_buf_sync s = {.flags = (uint64_t)flags};
  int r;
  do r = ioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
  while (r < 0 && (errno == EINTR || errno == EAGAIN));
  return ret(env, r);
}

// bufSetName(fd, name) -> DMA_BUF_SET_NAME_B with a NUL-terminated copy -> 0 | -errno
napi_value js_buf_set_name(napi_env env, napi_callback_info info) {
  ARGV(2);
  ARG_INT32(fd, 0);
  ARG_STRING(name, 1);
  return ret(env, ioctl(fd, DMA_BUF_SET_NAME_B, name));
}
