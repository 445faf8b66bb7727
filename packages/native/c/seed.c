// The seed benchmark's loop in C: DMA_HEAP_IOCTL_ALLOC and close, `iterations` times, timed with
// CLOCK_MONOTONIC; the reference every heap's JavaScript path is measured against (src/bench.ts).
#include "args.h"
#include <time.h>

// seedLoop(heapFd, len, iterations) -> total nanoseconds | -errno of the first failure
napi_value js_seed_loop(napi_env env, napi_callback_info info) {
  ARGV(3);
  ARG_INT32(heapFd, 0);
  ARG_INT64(len, 1);
  ARG_INT64(iterations, 2);
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
