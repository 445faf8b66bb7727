// What the addon's C files share: the system headers and the constants older headers lack, the result helpers
// (a non-negative result or -errno, as a JavaScript number), each environment's instance data, the fd-owner and
// mapping tables' entry points for teardown, and every binding that module.c exports. Each file includes it (or
// args.h) before any system header: it defines _GNU_SOURCE.
#ifndef DMAHEAP_ADDON_H
#define DMAHEAP_ADDON_H

#define _GNU_SOURCE
#include <linux/memfd.h> /* before <sys/mman.h>: glibc skips its MFD_* block when these exist */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <node_api.h>

// Fallbacks (kernel values) for constants that older headers lack.
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21U << MFD_HUGE_SHIFT)
#endif
#ifndef MFD_HUGE_1GB
#define MFD_HUGE_1GB (30U << MFD_HUGE_SHIFT)
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef DMA_BUF_SET_NAME_B
#define DMA_BUF_SET_NAME_B _IOW(DMA_BUF_BASE, 1, __u64)
#endif
#ifndef DMA_BUF_IOCTL_EXPORT_SYNC_FILE
struct dma_buf_export_sync_file { __u32 flags; __s32 fd; };
struct dma_buf_import_sync_file { __u32 flags; __s32 fd; };
#define DMA_BUF_IOCTL_EXPORT_SYNC_FILE _IOWR(DMA_BUF_BASE, 2, struct dma_buf_export_sync_file)
#define DMA_BUF_IOCTL_IMPORT_SYNC_FILE _IOW(DMA_BUF_BASE, 3, struct dma_buf_import_sync_file)
#endif
#ifndef UDMABUF_FLAGS_CLOEXEC
#define UDMABUF_FLAGS_CLOEXEC 0x01
#endif
/* SCM_MAX_FD in the kernel (include/net/scm.h): the most fds one message carries. */
#define MAX_MESSAGE_FDS 253

/* ---------- results ---------- */

static inline napi_value num(napi_env env, double v) {
  napi_value r = NULL;
  napi_create_double(env, v, &r);
  return r;
}

/* Result of a libc call: the value, or -errno when it failed. */
static inline napi_value ret(napi_env env, long r) { return num(env, r < 0 ? -errno : r); }

/* ---------- per-environment state (owners.c) ---------- */

/* Instance data of one Node-API environment (main thread or worker): its finalizer runs once, when the
 * environment is torn down. */
struct watch;
typedef struct {
  struct watch *watches;
  int closing; /* watchers whose uv_close has not called back yet */
  napi_async_cleanup_hook_handle cleanup; /* set while the environment's teardown waits for them */
  unsigned jobs; /* allocations on the thread pool not yet completed */
  int finalized; /* the environment's teardown closed what it owned: nothing may be recorded against it now */
} instance_t;

instance_t *instance_of(napi_env env);
void instance_init(napi_env env);

/* fd owners: fds recorded against the environment that asked for them, closed when it is torn down. */
long own(napi_env env, long fd);
void disown(int fd);
void close_owned(napi_env env);

/* Teardown hooks of the other tables. */
void unmap_owned(napi_env env);   /* mappings.c */
void watch_close(struct watch *w); /* watch.c */

/* ---------- the bindings, by file ---------- */

#define BINDING(name) napi_value name(napi_env env, napi_callback_info info)
BINDING(js_open); BINDING(js_close); BINDING(js_dup); BINDING(js_fd_size);                           /* fds.c */
BINDING(js_heap_alloc); BINDING(js_heap_alloc_async); BINDING(js_buf_sync); BINDING(js_buf_set_name); /* heaps.c */
BINDING(js_mmap); BINDING(js_munmap); BINDING(js_mapping_address); BINDING(js_madvise);               /* mappings.c */
BINDING(js_memfd_create); BINDING(js_ftruncate); BINDING(js_fallocate);                               /* memfd.c */
BINDING(js_add_seals); BINDING(js_get_seals);
BINDING(js_udmabuf_create); BINDING(js_udmabuf_create_list);                                          /* udmabuf.c */
BINDING(js_buf_export_sync_file); BINDING(js_buf_import_sync_file);                                   /* sync_file.c */
BINDING(js_send_fds); BINDING(js_recv_fds); BINDING(js_socket_pair); BINDING(js_socket_type);        /* sockets.c */
BINDING(js_watch); BINDING(js_unwatch);                                                               /* watch.c */
#undef BINDING

#endif
