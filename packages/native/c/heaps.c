// dma-buf heaps and dma-bufs: DMA_HEAP_IOCTL_ALLOC on the JS thread (heapAlloc) and on libuv's thread pool with a
// promise (heapAllocAsync), DMA_BUF_IOCTL_SYNC and DMA_BUF_SET_NAME_B. Every new dma-buf fd is recorded
// against the environment that asked for it, on that environment's JS thread.
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

// heapAllocAsync(heapFd, len, fdFlags, heapFlags) -> a promise of the new dma-buf fd | -errno. The ioctl runs on
// libuv's thread pool, so the event loop goes on meanwhile: a large CMA allocation migrates pages out of the area
// and clears them, seconds under emulation.
//  - The job works on a copy of heapFd made now: the heap closed while the job waits for a thread can neither
//    fail it nor, its number reused, send the ioctl to another file.
//  - The new fd is recorded against the environment on its JS thread, when the job completes. A job that
//    completes while its environment is torn down (a worker terminated mid-allocation: Node runs the loop until
//    every job has completed, before the cleanup hooks) cannot settle its promise, so nobody will ever receive
//    the fd: it is closed there. Should a job complete after the teardown closed the environment's fds, it
//    closes its fd too. Never a leak either way.
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  instance_t *inst;
  int heap_fd; /* the copy; -1 once closed */
  struct dma_heap_allocation_data data;
  int result; /* the new fd or -errno; -ECANCELED until the ioctl ran */
} heap_alloc_job_t;

static void heap_alloc_execute(napi_env env, void *data) {
  (void)env;
  heap_alloc_job_t *job = data;
  job->result = ioctl(job->heap_fd, DMA_HEAP_IOCTL_ALLOC, &job->data) < 0 ? -errno : (int)job->data.fd;
  close(job->heap_fd);
  job->heap_fd = -1;
}

static void heap_alloc_complete(napi_env env, napi_status status, void *data) {
  (void)status; /* a job never ran (cancelled) still holds -ECANCELED */
  heap_alloc_job_t *job = data;
  instance_t *inst = job->inst;
  int r = job->result;
  if (job->heap_fd >= 0) close(job->heap_fd);
  if (inst) inst->jobs--;
  if (r >= 0 && inst && inst->finalized) {
    close(r); /* nothing may be recorded against a finalized environment */
    r = -ECANCELED;
  }
  own(env, r);
  napi_value result = num(env, r);
  if (!result || napi_resolve_deferred(env, job->deferred, result) != napi_ok) {
    if (r >= 0) {
      disown(r); /* the promise cannot settle (the environment is being torn down): nobody receives the fd */
      close(r);
    }
  }
  napi_delete_async_work(env, job->work);
  free(job);
  if (inst && inst->finalized && inst->jobs == 0 && inst->closing == 0) free(inst); /* left by instance_finalize */
}

/* Queues the job that resolves `deferred`; 0, or -errno when it could not be queued. */
static long queue_heap_alloc(napi_env env, napi_deferred deferred, int heap_fd, struct dma_heap_allocation_data d) {
  heap_alloc_job_t *job = calloc(1, sizeof *job);
  if (!job) return -ENOMEM;
  job->heap_fd = fcntl(heap_fd, F_DUPFD_CLOEXEC, 0);
  if (job->heap_fd < 0) {
    long err = -errno;
    free(job);
    return err;
  }
  job->deferred = deferred;
  job->data = d;
  job->result = -ECANCELED;
  napi_value name;
  if (napi_create_string_utf8(env, "dmaheap:heapAllocAsync", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, heap_alloc_execute, heap_alloc_complete, job, &job->work) != napi_ok) {
    close(job->heap_fd);
    free(job);
    return -ENOMEM;
  }
  if (napi_queue_async_work(env, job->work) != napi_ok) {
    napi_delete_async_work(env, job->work);
    close(job->heap_fd);
    free(job);
    return -ENOMEM;
  }
  job->inst = instance_of(env);
  if (job->inst) job->inst->jobs++;
  return 0;
}

napi_value js_heap_alloc_async(napi_env env, napi_callback_info info) {
  ARGV(4);
  ARG_INT32(heapFd, 0);
  ARG_INT64(len, 1);
  ARG_INT64(fdFlags, 2);
  ARG_INT64(heapFlags, 3);
  napi_deferred deferred;
  napi_value promise;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) return NULL;
  struct dma_heap_allocation_data d = {.len = (uint64_t)len, .fd = 0, .fd_flags = (uint32_t)fdFlags,
                                        .heap_flags = (uint64_t)heapFlags};
  long r = queue_heap_alloc(env, deferred, heapFd, d);
  if (r < 0) napi_resolve_deferred(env, deferred, num(env, (double)r));
  return promise;
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
