// The seed benchmark's loop in C: DMA_HEAP_IOCTL_ALLOC and close, `iterations` times, timed with
// CLOCK_MONOTONIC; the reference every heap's JavaScript path is measured against (apps/bench). Part of the
// rig's addon, never published; src/rig/seed.ts checks the arguments before calling it.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/dma-heap.h>
#include <node_api.h>

napi_value js_seed_loop(napi_env env, napi_callback_info info);

static napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

// seedLoop(heapFd, len, iterations) -> total nanoseconds | -errno of the first failure (-EINVAL for bad arguments)
napi_value js_seed_loop(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t heapFd;
  int64_t len, iterations;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_int32(env, argv[0], &heapFd) != napi_ok || napi_get_value_int64(env, argv[1], &len) != napi_ok ||
      napi_get_value_int64(env, argv[2], &iterations) != napi_ok || heapFd < 0 || len <= 0 || iterations < 0)
    return num(env, -EINVAL);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int64_t i = 0; i < iterations; i++) {
    struct dma_heap_allocation_data d = {.len = (uint64_t)len, .fd = 0, .fd_flags = O_RDWR | O_CLOEXEC, .heap_flags = 0};
    if (ioctl(heapFd, DMA_HEAP_IOCTL_ALLOC, &d) < 0) return num(env, -errno);
    close((int)d.fd);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return num(env, (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec));
}
