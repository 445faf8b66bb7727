// dmaheap native layer: thin system-call wrappers for Node-API.
//
// Rules: every exported function returns a non-negative result or -errno as a JS number.
// All argument validation happens in TypeScript (src/syscalls.ts) before we are called; C only
// extracts arguments, makes the call and closes whatever it opened on failure. The one thrown
// error is ERR_DMAHEAP_NO_EXTERNAL_BUFFERS (runtime forbids external ArrayBuffers).
//
// Two pieces of bookkeeping live here because no JavaScript runs when they are needed: the fds this addon
// opens are recorded against the Node-API environment (main thread or worker) that opened them, and those
// still open when that environment is torn down are closed then (see "fd owners" below); and each mapping
// handed to JavaScript is unmapped exactly once, whoever gets there first (see "mappings" below).

#define _GNU_SOURCE
#include <linux/memfd.h> /* before <sys/mman.h>: glibc skips its MFD_* block when these exist */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
#ifndef UDMABUF_FLAGS_CLOEXEC
#define UDMABUF_FLAGS_CLOEXEC 0x01
#endif

/* ---------- argument helpers ---------- */

#define MAX_ARGS 6
typedef struct {
  napi_env env;
  napi_value argv[MAX_ARGS];
  size_t argc;
  int bad; /* set when an argument has the wrong JS type: the call returns -EINVAL */
} args_t;

static args_t get_args(napi_env env, napi_callback_info info) {
  args_t a = {.env = env, .argc = MAX_ARGS, .bad = 0};
  if (napi_get_cb_info(env, info, &a.argc, a.argv, NULL, NULL) != napi_ok) a.bad = 1;
  if (a.argc > MAX_ARGS) a.argc = MAX_ARGS;
  return a;
}

static int32_t arg_i32(args_t *a, size_t i) {
  int32_t v = -1;
  if (i >= a->argc || napi_get_value_int32(a->env, a->argv[i], &v) != napi_ok) a->bad = 1;
  return v;
}

static int64_t arg_i64(args_t *a, size_t i) {
  int64_t v = -1;
  if (i >= a->argc || napi_get_value_int64(a->env, a->argv[i], &v) != napi_ok) a->bad = 1;
  return v;
}

static uint32_t arg_u32(args_t *a, size_t i) {
  uint32_t v = 0;
  if (i >= a->argc || napi_get_value_uint32(a->env, a->argv[i], &v) != napi_ok) a->bad = 1;
  return v;
}

/* A malloc'd NUL-terminated UTF-8 copy of a string argument (NULL and bad=1 on failure). */
static char *arg_str(args_t *a, size_t i) {
  size_t len = 0;
  char *s = NULL;
  if (i < a->argc && napi_get_value_string_utf8(a->env, a->argv[i], NULL, 0, &len) == napi_ok &&
      (s = malloc(len + 1)) != NULL &&
      napi_get_value_string_utf8(a->env, a->argv[i], s, len + 1, &len) == napi_ok)
    return s;
  free(s);
  a->bad = 1;
  return NULL;
}

static napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

/* Result of a libc call: the value, or -errno when it failed. */
static napi_value ret(napi_env env, long r) { return num(env, r < 0 ? -errno : r); }

#define ARGS args_t a = get_args(env, info)
#define BAIL_IF_BAD \
  if (a.bad) return num(env, -EINVAL)

/* ---------- fd owners ---------- */

// A worker_thread that is terminated never runs its FinalizationRegistry callbacks, so the fds of its heaps
// and of buffers it never closed would stay open until the process exits. Every fd this addon creates (open,
// heap allocation, memfd, udmabuf) is recorded against the environment that asked for it, with the identity
// of its file (device and inode); close() through the addon forgets it; when an environment is torn down, what
// is still recorded against it is closed, but only if the number still names the same file: an fd closed
// behind the addon's back (fs.closeSync) may have been reused by an unrelated file, which is left alone.
// dup() results are not recorded: they are handed to the caller to give away (to a child, another library)
// and close as it likes. fds are process-wide and workers run in parallel, hence the lock; the table is
// indexed by fd.
typedef struct {
  napi_env env;
  dev_t dev;
  ino_t ino;
} owner_t;

static pthread_mutex_t owners_lock = PTHREAD_MUTEX_INITIALIZER;
static owner_t *owners = NULL;
static size_t owners_len = 0;

/* Records fd (when it is one) as owned by env; returns it unchanged. A number the kernel just handed out
 * replaces any stale record of it. Without memory for the table the fd simply stays unrecorded. */
static long own(napi_env env, long fd) {
  struct stat st;
  if (fd < 0 || fstat((int)fd, &st) < 0) return fd;
  pthread_mutex_lock(&owners_lock);
  if ((size_t)fd >= owners_len) {
    size_t len = (size_t)fd * 2 + 64;
    owner_t *grown = realloc(owners, len * sizeof *owners);
    if (grown) {
      memset(grown + owners_len, 0, (len - owners_len) * sizeof *owners);
      owners = grown;
      owners_len = len;
    }
  }
  if ((size_t)fd < owners_len) owners[fd] = (owner_t){.env = env, .dev = st.st_dev, .ino = st.st_ino};
  pthread_mutex_unlock(&owners_lock);
  return fd;
}

static void disown(int fd) {
  pthread_mutex_lock(&owners_lock);
  if (fd >= 0 && (size_t)fd < owners_len) owners[fd].env = NULL;
  pthread_mutex_unlock(&owners_lock);
}

/* Closes what env still owns (its environment is going away: worker terminated or finished, process exiting). */
static void close_owned(napi_env env) {
  struct stat st;
  pthread_mutex_lock(&owners_lock);
  for (size_t fd = 0; fd < owners_len; fd++) {
    if (owners[fd].env != env) continue;
    if (fstat((int)fd, &st) == 0 && st.st_dev == owners[fd].dev && st.st_ino == owners[fd].ino) close((int)fd);
    owners[fd].env = NULL;
  }
  pthread_mutex_unlock(&owners_lock);
}

/* Per-environment state, as instance data: its finalizer runs once, when the environment is torn down. */
static void instance_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  close_owned(env);
  free(data);
}

/* ---------- fds ---------- */

// open(path, flags, mode) -> fd | -errno
static napi_value js_open(napi_env env, napi_callback_info info) {
  ARGS;
  char *path = arg_str(&a, 0);
  int flags = arg_i32(&a, 1), mode = arg_i32(&a, 2);
  if (a.bad) { free(path); return num(env, -EINVAL); }
  int fd = open(path, flags, (mode_t)mode);
  int err = errno;
  free(path);
  return num(env, fd < 0 ? -err : own(env, fd));
}

// close(fd) -> 0 | -errno (EINTR still means closed on Linux; TS treats it so)
static napi_value js_close(napi_env env, napi_callback_info info) {
  ARGS;
  int fd = arg_i32(&a, 0);
  BAIL_IF_BAD;
  disown(fd); /* before close: once closed, the number may be another thread's */
  return ret(env, close(fd));
}

// dup(fd) -> fcntl(F_DUPFD_CLOEXEC) -> new fd | -errno
static napi_value js_dup(napi_env env, napi_callback_info info) {
  ARGS;
  int fd = arg_i32(&a, 0);
  BAIL_IF_BAD;
  return ret(env, fcntl(fd, F_DUPFD_CLOEXEC, 0));
}

/* ---------- dma-buf heaps and dma-bufs ---------- */

// heapAlloc(heapFd, len, fdFlags, heapFlags) -> DMA_HEAP_IOCTL_ALLOC -> new dma-buf fd | -errno
static napi_value js_heap_alloc(napi_env env, napi_callback_info info) {
  ARGS;
  int heap_fd = arg_i32(&a, 0);
  int64_t len = arg_i64(&a, 1), fd_flags = arg_i64(&a, 2), heap_flags = arg_i64(&a, 3);
  BAIL_IF_BAD;
  struct dma_heap_allocation_data d = {.len = (uint64_t)len, .fd = 0, .fd_flags = (uint32_t)fd_flags,
                                        .heap_flags = (uint64_t)heap_flags}; /* zero-initialised */
  if (ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &d) < 0) return num(env, -errno);
  return num(env, own(env, d.fd));
}

// bufSync(fd, flags) -> DMA_BUF_IOCTL_SYNC, restarted while EINTR/EAGAIN -> 0 | -errno
static napi_value js_buf_sync(napi_env env, napi_callback_info info) {
  ARGS;
  int fd = arg_i32(&a, 0);
  int64_t flags = arg_i64(&a, 1);
  BAIL_IF_BAD;
  struct dma_buf_sync s = {.flags = (uint64_t)flags};
  int r;
  do r = ioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
  while (r < 0 && (errno == EINTR || errno == EAGAIN));
  return ret(env, r);
}

// bufSetName(fd, name) -> DMA_BUF_SET_NAME_B with a NUL-terminated copy -> 0 | -errno
static napi_value js_buf_set_name(napi_env env, napi_callback_info info) {
  ARGS;
  int fd = arg_i32(&a, 0);
  char *name = arg_str(&a, 1);
  if (a.bad) { free(name); return num(env, -EINVAL); }
  int r = ioctl(fd, DMA_BUF_SET_NAME_B, name);
  int err = errno;
  free(name);
  return num(env, r < 0 ? -err : r);
}

/* ---------- mappings handed to JS as external ArrayBuffers ---------- */

// A mapping is referenced twice: by the ArrayBuffer's backing store (whose finalizer unmaps a forgotten
// mapping) and by the wrap on the ArrayBuffer object that munmap() finds it through. Either may go first: an
// ArrayBuffer detached by a transfer (ArrayBuffer.prototype.transfer) hands its backing store to a new
// ArrayBuffer, which may be collected while the old object still carries the wrap. The record is freed when
// both are gone, so no lookup ever reads freed memory; the memory is unmapped exactly once.
typedef struct {
  void *addr;
  size_t len;
  int unmapped;
  int refs;
} mapping_t;

/* Marks ArrayBuffers made by js_mmap, so a wrap placed by someone else is never misread. */
static const napi_type_tag MAPPING_TAG = {0x646d616865617021ULL, 0x6d6d61705f746167ULL};

static void mapping_unref(mapping_t *m) {
  if (--m->refs == 0) free(m);
}

/* Unmaps once; returns 0 or -errno. */
static int mapping_unmap(napi_env env, mapping_t *m) {
  if (m->unmapped) return 0;
  if (munmap(m->addr, m->len) < 0) return -errno;
  m->unmapped = 1;
  int64_t ignored;
  napi_adjust_external_memory(env, -(int64_t)m->len, &ignored);
  return 0;
}

// The backing store's finalizer (runs on the JS thread, possibly deferred, possibly after munmap()).
static void mapping_finalize(napi_env env, void *data, void *hint) {
  (void)data;
  mapping_t *m = hint;
  mapping_unmap(env, m);
  mapping_unref(m);
}

// The wrap's finalizer: the ArrayBuffer object was collected.
static void mapping_wrap_finalize(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  mapping_unref(data);
}

/* The record behind an ArrayBuffer made by js_mmap (live, unmapped or transferred away), or NULL. */
static mapping_t *get_mapping(napi_env env, napi_value ab) {
  bool tagged = false;
  void *m = NULL;
  if (napi_check_object_type_tag(env, ab, &MAPPING_TAG, &tagged) != napi_ok || !tagged) return NULL;
  if (napi_unwrap(env, ab, &m) != napi_ok) return NULL;
  return m;
}

/* The mapping whose memory `ab` shows now: made by js_mmap, not unmapped, not detached. */
static mapping_t *live_mapping(napi_env env, napi_value ab) {
  mapping_t *m = get_mapping(env, ab);
  bool detached = true;
  if (!m || m->unmapped || napi_is_detached_arraybuffer(env, ab, &detached) != napi_ok || detached) return NULL;
  return m;
}

// mmap(fd, offset, length, prot) -> MAP_SHARED mapping as an external ArrayBuffer | -errno
static napi_value js_mmap(napi_env env, napi_callback_info info) {
  ARGS;
  int fd = arg_i32(&a, 0), prot = arg_i32(&a, 3);
  int64_t offset = arg_i64(&a, 1), length = arg_i64(&a, 2);
  BAIL_IF_BAD;
  void *addr = mmap(NULL, (size_t)length, prot, MAP_SHARED, fd, (off_t)offset);
  if (addr == MAP_FAILED) return num(env, -errno);
  mapping_t *m = calloc(1, sizeof *m);
  if (!m) { munmap(addr, (size_t)length); return num(env, -ENOMEM); }
  m->addr = addr;
  m->len = (size_t)length;
  m->refs = 1; /* the backing store's */

  napi_value ab;
  napi_status st = napi_create_external_arraybuffer(env, addr, m->len, mapping_finalize, m, &ab);
  if (st != napi_ok) {
    if (st != napi_no_external_buffers_allowed) {
      /* Node refuses a length above buffer.constants.MAX_LENGTH by calling the finalizer itself (which unmaps
         and frees m) and throwing ERR_BUFFER_TOO_LARGE: nothing is ours to free here. TypeScript never asks for
         such a length. */
      return NULL;
    }
    munmap(addr, m->len);
    free(m);
    {
      napi_value code, msg, err;
      napi_create_string_utf8(env, "ERR_DMAHEAP_NO_EXTERNAL_BUFFERS", NAPI_AUTO_LENGTH, &code);
      napi_create_string_utf8(env, "this Node.js runtime does not allow external ArrayBuffers, so mmap cannot hand memory to JS",
                              NAPI_AUTO_LENGTH, &msg);
      napi_create_error(env, code, msg, &err);
      napi_throw(env, err);
      return NULL;
    }
  }
  // From here the ArrayBuffer's finalizer owns the mapping: on any failure below it unmaps it at GC.
  int64_t ignored;
  napi_adjust_external_memory(env, (int64_t)m->len, &ignored);
  if (napi_type_tag_object(env, ab, &MAPPING_TAG) != napi_ok) return num(env, -ENOMEM);
  m->refs++; /* the wrap's */
  if (napi_wrap(env, ab, m, mapping_wrap_finalize, NULL, NULL) != napi_ok) {
    m->refs--;
    return num(env, -ENOMEM);
  }
  return ab;
}

// munmap(ab) -> detach the ArrayBuffer, then munmap synchronously -> 0 | 1 when the memory stays mapped in
// another ArrayBuffer (this one was detached by a transfer; that one's finalizer unmaps) | -errno. Idempotent.
static napi_value js_munmap(napi_env env, napi_callback_info info) {
  ARGS;
  if (a.argc < 1) return num(env, -EINVAL);
  napi_value ab = a.argv[0];
  mapping_t *m = get_mapping(env, ab);
  if (!m) return num(env, 0); /* not ours, or already unmapped through this ArrayBuffer */
  bool detached = false;
  napi_is_detached_arraybuffer(env, ab, &detached);
  if (detached) {
    int elsewhere = !m->unmapped;
    napi_remove_wrap(env, ab, NULL);
    mapping_unref(m);
    return num(env, elsewhere);
  }
  if (napi_detach_arraybuffer(env, ab) != napi_ok) return num(env, -EBUSY);
  int r = mapping_unmap(env, m); /* the backing store's finalizer may have run during the detach: once only */
  if (r < 0) return num(env, r); /* the finalizer retries */
  napi_remove_wrap(env, ab, NULL);
  mapping_unref(m);
  return num(env, 0);
}

// mappingAddress(ab) -> address as BigInt, 0n when not a live mapping
static napi_value js_mapping_address(napi_env env, napi_callback_info info) {
  ARGS;
  mapping_t *m = a.argc >= 1 ? live_mapping(env, a.argv[0]) : NULL;
  napi_value r;
  napi_create_bigint_uint64(env, m ? (uint64_t)(uintptr_t)m->addr : 0, &r);
  return r;
}

// madvise(ab, offset, length, advice) -> 0 | -errno. The bounds check is memory safety, not
// validation: it keeps advice such as MADV_DONTNEED from ever reaching memory outside the mapping.
static napi_value js_madvise(napi_env env, napi_callback_info info) {
  ARGS;
  int64_t offset = arg_i64(&a, 1), length = arg_i64(&a, 2);
  int advice = arg_i32(&a, 3);
  BAIL_IF_BAD;
  mapping_t *m = live_mapping(env, a.argv[0]);
  if (!m || offset < 0 || length < 0 || (uint64_t)offset + (uint64_t)length > m->len)
    return num(env, -EINVAL);
  return ret(env, madvise((char *)m->addr + offset, (size_t)length, advice));
}

/* ---------- memfd ---------- */

// memfdCreate(name, flags) -> fd | -errno
static napi_value js_memfd_create(napi_env env, napi_callback_info info) {
  ARGS;
  char *name = arg_str(&a, 0);
  int flags = arg_i32(&a, 1);
  if (a.bad) { free(name); return num(env, -EINVAL); }
  int fd = memfd_create(name, (unsigned)flags);
  int err = errno;
  free(name);
  return num(env, fd < 0 ? -err : own(env, fd));
}

// ftruncate(fd, len) -> 0 | -errno
static napi_value js_ftruncate(napi_env env, napi_callback_info info) {
  ARGS;
  int fd = arg_i32(&a, 0);
  int64_t len = arg_i64(&a, 1);
  BAIL_IF_BAD;
  return ret(env, ftruncate(fd, (off_t)len));
}

// fallocate(fd, mode, offset, len) -> 0 | -errno
static napi_value js_fallocate(napi_env env, napi_callback_info info) {
  ARGS;
  int fd = arg_i32(&a, 0), mode = arg_i32(&a, 1);
  int64_t offset = arg_i64(&a, 2), len = arg_i64(&a, 3);
  BAIL_IF_BAD;
  return ret(env, fallocate(fd, mode, (off_t)offset, (off_t)len));
}

// addSeals(fd, seals) -> fcntl(F_ADD_SEALS) -> 0 | -errno
static napi_value js_add_seals(napi_env env, napi_callback_info info) {
  ARGS;
  int fd = arg_i32(&a, 0), seals = arg_i32(&a, 1);
  BAIL_IF_BAD;
  return ret(env, fcntl(fd, F_ADD_SEALS, seals));
}

// getSeals(fd) -> fcntl(F_GET_SEALS) -> seal mask | -errno
static napi_value js_get_seals(napi_env env, napi_callback_info info) {
  ARGS;
  int fd = arg_i32(&a, 0);
  BAIL_IF_BAD;
  return ret(env, fcntl(fd, F_GET_SEALS));
}

/* ---------- udmabuf ---------- */

// udmabufCreate(devFd, memfd, offset, size, flags) -> UDMABUF_CREATE -> dma-buf fd | -errno
static napi_value js_udmabuf_create(napi_env env, napi_callback_info info) {
  ARGS;
  int dev_fd = arg_i32(&a, 0), memfd = arg_i32(&a, 1), flags = arg_i32(&a, 4);
  int64_t offset = arg_i64(&a, 2), size = arg_i64(&a, 3);
  BAIL_IF_BAD;
  struct udmabuf_create c = {.memfd = (uint32_t)memfd, .flags = (uint32_t)flags,
                             .offset = (uint64_t)offset, .size = (uint64_t)size};
  long r = ioctl(dev_fd, UDMABUF_CREATE, &c);
  return r < 0 ? num(env, -errno) : num(env, own(env, r));
}

// udmabufCreateList(devFd, flags, Float64Array [memfd, offset, size]*, count?) -> UDMABUF_CREATE_LIST with the
// first `count` triples (default: all of them), so a caller can reuse one array -> dma-buf fd | -errno
static napi_value js_udmabuf_create_list(napi_env env, napi_callback_info info) {
  ARGS;
  int dev_fd = arg_i32(&a, 0), flags = arg_i32(&a, 1);
  BAIL_IF_BAD;
  napi_typedarray_type type;
  size_t n = 0;
  void *data = NULL;
  if (a.argc < 3 || napi_get_typedarray_info(env, a.argv[2], &type, &n, &data, NULL, NULL) != napi_ok ||
      type != napi_float64_array)
    return num(env, -EINVAL);
  size_t count = n / 3;
  if (a.argc > 3) {
    uint32_t c = arg_u32(&a, 3);
    if (a.bad || c > count) return num(env, -EINVAL);
    count = c;
  }
  const double *v = data;
  /* Most buffers are a few ranges: those need no heap allocation. */
  struct { struct udmabuf_create_list head; struct udmabuf_create_item items[8]; } small;
  struct udmabuf_create_list *list = &small.head;
  if (count > 8 && !(list = malloc(sizeof *list + count * sizeof list->list[0]))) return num(env, -ENOMEM);
  list->flags = (uint32_t)flags;
  list->count = (uint32_t)count;
  for (size_t i = 0; i < count; i++) {
    list->list[i] = (struct udmabuf_create_item){
      .memfd = (uint32_t)v[3 * i], .__pad = 0, .offset = (uint64_t)v[3 * i + 1], .size = (uint64_t)v[3 * i + 2]};
  }
  int r = ioctl(dev_fd, UDMABUF_CREATE_LIST, list);
  int err = errno;
  if (list != &small.head) free(list);
  return num(env, r < 0 ? -err : own(env, r));
}

/* ---------- benchmark ---------- */

// seedLoop(heapFd, len, iterations): the heap selftest loop of ALLOC+close, timed with
// CLOCK_MONOTONIC -> total nanoseconds | -errno of the first failure
static napi_value js_seed_loop(napi_env env, napi_callback_info info) {
  ARGS;
  int heap_fd = arg_i32(&a, 0);
  int64_t len = arg_i64(&a, 1), iterations = arg_i64(&a, 2);
  BAIL_IF_BAD;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int64_t i = 0; i < iterations; i++) {
    struct dma_heap_allocation_data d = {.len = (uint64_t)len, .fd = 0, .fd_flags = O_RDWR | O_CLOEXEC, .heap_flags = 0};
    if (ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &d) < 0) return num(env, -errno);
    close((int)d.fd);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return num(env, (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec));
}

/* ---------- module ---------- */

static void set_num(napi_env env, napi_value obj, const char *name, double v) {
  napi_set_named_property(env, obj, name, num(env, v));
}

static napi_value make_constants(napi_env env) {
  napi_value c;
  napi_create_object(env, &c);
#define K(name) set_num(env, c, #name, (double)(name))
  K(O_RDONLY); K(O_WRONLY); K(O_RDWR); K(O_CLOEXEC); K(O_ACCMODE);
  K(MFD_CLOEXEC); K(MFD_ALLOW_SEALING); K(MFD_HUGETLB); K(MFD_HUGE_SHIFT); K(MFD_HUGE_2MB); K(MFD_HUGE_1GB);
  K(F_SEAL_SEAL); K(F_SEAL_SHRINK); K(F_SEAL_GROW); K(F_SEAL_WRITE); K(F_SEAL_FUTURE_WRITE);
  K(FALLOC_FL_KEEP_SIZE); K(FALLOC_FL_PUNCH_HOLE);
  K(MADV_DONTNEED); K(MADV_REMOVE); K(MADV_HUGEPAGE); K(MADV_NOHUGEPAGE);
  K(MADV_POPULATE_READ); K(MADV_POPULATE_WRITE); K(MADV_WILLNEED);
  K(PROT_READ); K(PROT_WRITE);
  K(DMA_BUF_SYNC_READ); K(DMA_BUF_SYNC_WRITE); K(DMA_BUF_SYNC_RW); K(DMA_BUF_SYNC_START); K(DMA_BUF_SYNC_END);
  K(UDMABUF_FLAGS_CLOEXEC);
#undef K
  set_num(env, c, "PAGE_SIZE", (double)sysconf(_SC_PAGESIZE));
  return c;
}

static napi_value init(napi_env env, napi_value exports) {
  static const struct { const char *name; napi_callback fn; } fns[] = {
    {"open", js_open}, {"close", js_close}, {"dup", js_dup},
    {"heapAlloc", js_heap_alloc}, {"bufSync", js_buf_sync}, {"bufSetName", js_buf_set_name},
    {"mmap", js_mmap}, {"munmap", js_munmap}, {"mappingAddress", js_mapping_address}, {"madvise", js_madvise},
    {"memfdCreate", js_memfd_create}, {"ftruncate", js_ftruncate}, {"fallocate", js_fallocate},
    {"addSeals", js_add_seals}, {"getSeals", js_get_seals},
    {"udmabufCreate", js_udmabuf_create}, {"udmabufCreateList", js_udmabuf_create_list},
    {"seedLoop", js_seed_loop},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  napi_set_named_property(env, exports, "constants", make_constants(env));
  void *instance = NULL;
  if (napi_get_instance_data(env, &instance) == napi_ok && instance == NULL) {
    instance = malloc(1);
    if (instance && napi_set_instance_data(env, instance, instance_finalize, NULL) != napi_ok) free(instance);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
