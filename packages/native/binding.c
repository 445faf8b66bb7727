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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <node_api.h>
#include <uv.h>

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
/* SCM_MAX_FD in the kernel (include/net/scm.h): the most fds one message carries. */
#define MAX_MESSAGE_FDS 253
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
// heap allocation, memfd, udmabuf, received over a socket) is recorded against the environment that asked for
// it; close() through the addon forgets it; when an environment is torn down, what is still recorded against it
// is closed. dup() results are not recorded: they are handed to the caller to give away (to a child, another
// library) and close as it likes. fds are process-wide and workers run in parallel, hence the lock; the table
// is indexed by fd. (Recording each file's identity, to skip an fd closed behind the addon's back and reused by
// another file, cost an fstat per allocation: 50 µs under emulation, as much as the allocation itself. Closing
// a recorded fd with anything but closeFd is documented as a misuse instead.)
static pthread_mutex_t owners_lock = PTHREAD_MUTEX_INITIALIZER;
static napi_env *owners = NULL;
static size_t owners_len = 0;

/* Records fd (when it is one) as owned by env; returns it unchanged. A number the kernel just handed out
 * replaces any stale record of it. Without memory for the table the fd simply stays unrecorded. */
static long own(napi_env env, long fd) {
  if (fd < 0) return fd;
  pthread_mutex_lock(&owners_lock);
  if ((size_t)fd >= owners_len) {
    size_t len = (size_t)fd * 2 + 64;
    napi_env *grown = realloc(owners, len * sizeof *owners);
    if (grown) {
      memset(grown + owners_len, 0, (len - owners_len) * sizeof *owners);
      owners = grown;
      owners_len = len;
    }
  }
  if ((size_t)fd < owners_len) owners[fd] = env;
  pthread_mutex_unlock(&owners_lock);
  return fd;
}

static void disown(int fd) {
  pthread_mutex_lock(&owners_lock);
  if (fd >= 0 && (size_t)fd < owners_len) owners[fd] = NULL;
  pthread_mutex_unlock(&owners_lock);
}

/* Closes what env still owns (its environment is going away: worker terminated or finished, process exiting). */
static void close_owned(napi_env env) {
  pthread_mutex_lock(&owners_lock);
  for (size_t fd = 0; fd < owners_len; fd++) {
    if (owners[fd] != env) continue;
    close((int)fd);
    owners[fd] = NULL;
  }
  pthread_mutex_unlock(&owners_lock);
}

/* Per-environment state, as instance data: its finalizer runs once, when the environment is torn down. */
struct watch;
typedef struct {
  struct watch *watches;
  int closing; /* watchers whose uv_close has not called back yet */
  napi_async_cleanup_hook_handle cleanup; /* set while the environment's teardown waits for them */
} instance_t;
static void watch_close(struct watch *w);
static void unmap_owned(napi_env env);

// Poll watchers are libuv handles: uv_close calls back later, from the loop, into this library's code. When the
// environment is torn down (a worker ends) Node unloads the library once the environment is gone, so that
// callback must have run before: an async cleanup hook closes every watcher, and the environment's teardown
// keeps running the loop until the last close has called back (watch_closed ends the hook).
static void instance_cleanup(napi_async_cleanup_hook_handle handle, void *data) {
  instance_t *inst = data;
  inst->cleanup = handle;
  while (inst->watches) watch_close(inst->watches); /* each unlinks itself from inst */
  if (inst->closing == 0) {
    inst->cleanup = NULL;
    napi_remove_async_cleanup_hook(handle);
  }
}

static void instance_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  instance_t *inst = data;
  while (inst->watches) watch_close(inst->watches); /* only without the hook */
  unmap_owned(env);
  close_owned(env);
  if (inst->closing == 0) free(inst); /* else a close callback still to come reads it: left, a few bytes */
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

// Node-API can fail in the middle of a call and still have taken what it was given: in a worker being
// terminated, napi_wrap and napi_create_external_arraybuffer may report napi_pending_exception after their
// finalizer was installed, or before, without saying which. So no finalizer here frees memory that another
// owner may still read, and nothing depends on a failed call having done nothing. Each mapping is a slot in one
// process-wide table (workers run in parallel, hence the lock), named by an id (slot and generation), never by a
// pointer: the id is the backing store's finalizer hint and is wrapped on the ArrayBuffer for munmap() to find.
// munmap() unmaps and marks the slot; the backing store's finalizer unmaps if still mapped and frees the slot;
// when an environment is torn down, the slots still recorded against it are unmapped and freed (its
// ArrayBuffers die with it: Node marks external ones untransferable). Whoever comes later finds the id stale
// and does nothing, so the memory is unmapped exactly once and every lookup reads live memory.
typedef struct {
  void *addr; /* NULL: the slot is free */
  size_t len;
  napi_env env;
  uint32_t gen; /* changes each time the slot is freed, so an old id never names a new mapping */
  uint32_t next_free;
  int unmapped;
} mapping_t;

/* An id is carried as a pointer-sized finalizer hint: the slot in the low bits, the generation above. */
typedef uintptr_t mapping_id_t;
#define SLOT_BITS (sizeof(uintptr_t) >= 8 ? 32 : 20)
#define MAX_SLOTS ((uint32_t)(((uintptr_t)1 << SLOT_BITS) - 1))
#define NO_SLOT UINT32_MAX
static pthread_mutex_t mappings_lock = PTHREAD_MUTEX_INITIALIZER;
static mapping_t *mappings = NULL;
static uint32_t mappings_len = 0, free_slots = NO_SLOT;

static mapping_id_t mapping_id(uint32_t slot) { return ((mapping_id_t)mappings[slot].gen << SLOT_BITS) | slot; }

/* Records a new mapping; its id, or 0 without memory for the table. */
static mapping_id_t mapping_add(napi_env env, void *addr, size_t len) {
  mapping_id_t id = 0;
  pthread_mutex_lock(&mappings_lock);
  if (free_slots == NO_SLOT && mappings_len < MAX_SLOTS / 2) {
    uint32_t grown_len = mappings_len * 2 + 64;
    mapping_t *grown = realloc(mappings, grown_len * sizeof *grown);
    if (grown) {
      for (uint32_t i = grown_len; i-- > mappings_len;)
        grown[i] = (mapping_t){.gen = 1, .next_free = free_slots}, free_slots = i;
      mappings = grown;
      mappings_len = grown_len;
    }
  }
  if (free_slots != NO_SLOT) {
    uint32_t slot = free_slots;
    mapping_t *m = &mappings[slot];
    free_slots = m->next_free;
    *m = (mapping_t){.addr = addr, .len = len, .env = env, .gen = m->gen, .next_free = NO_SLOT};
    id = mapping_id(slot);
  }
  pthread_mutex_unlock(&mappings_lock);
  return id;
}

/* The slot id names, or NULL when it is stale. Under the lock. */
static mapping_t *mapping_find(mapping_id_t id) {
  uint32_t slot = (uint32_t)(id & MAX_SLOTS);
  if (slot >= mappings_len || !mappings[slot].addr || mapping_id(slot) != id) return NULL;
  return &mappings[slot];
}

/* Unmaps once; the bytes to take off V8's external memory (0 when unmapped already), or -errno. Under the lock. */
static long mapping_unmap(mapping_t *m) {
  if (m->unmapped) return 0;
  if (munmap(m->addr, m->len) < 0) return -errno;
  m->unmapped = 1;
  return (long)m->len;
}

/* Unmaps (when still mapped) and frees the slot; the bytes to take off V8's external memory. Under the lock. */
static long mapping_free(mapping_t *m) {
  long counted = mapping_unmap(m);
  if (counted < 0) return 0; /* munmap of a live mapping does not fail; if it did, the slot is dropped anyway */
  uint32_t slot = (uint32_t)(m - mappings);
  uint32_t gen = (m->gen + 1) & (uint32_t)(UINTPTR_MAX >> SLOT_BITS);
  *m = (mapping_t){.gen = gen ? gen : 1, .next_free = free_slots}; /* never 0: no id is 0 */
  free_slots = slot;
  return counted;
}

static void forget_external(napi_env env, long bytes) {
  int64_t ignored;
  if (bytes > 0) napi_adjust_external_memory(env, -(int64_t)bytes, &ignored);
}

/* Unmaps and frees what env still has mapped (its environment is going away). */
static void unmap_owned(napi_env env) {
  pthread_mutex_lock(&mappings_lock);
  for (uint32_t i = 0; i < mappings_len; i++)
    if (mappings[i].addr && mappings[i].env == env) mapping_free(&mappings[i]);
  pthread_mutex_unlock(&mappings_lock);
}

// The backing store's finalizer (runs on the JS thread, possibly deferred, possibly after munmap()).
static void mapping_finalize(napi_env env, void *data, void *hint) {
  (void)data;
  pthread_mutex_lock(&mappings_lock);
  mapping_t *m = mapping_find((mapping_id_t)hint);
  long counted = m ? mapping_free(m) : 0;
  pthread_mutex_unlock(&mappings_lock);
  forget_external(env, counted);
}

/* Marks ArrayBuffers made by js_mmap, so a wrap placed by someone else is never misread. */
static const napi_type_tag MAPPING_TAG = {0x646d616865617021ULL, 0x6d6d61705f746167ULL};

/* The id wrapped on an ArrayBuffer made by js_mmap (its mapping live, unmapped or gone), or 0. */
static mapping_id_t get_mapping_id(napi_env env, napi_value ab) {
  bool tagged = false;
  void *id = NULL;
  if (napi_check_object_type_tag(env, ab, &MAPPING_TAG, &tagged) != napi_ok || !tagged) return 0;
  if (napi_unwrap(env, ab, &id) != napi_ok) return 0;
  return (mapping_id_t)id;
}

/* Where the memory `ab` shows now is mapped: made by js_mmap, not unmapped, not detached. 0 when not. */
static int live_mapping(napi_env env, napi_value ab, void **addr, size_t *len) {
  mapping_id_t id = get_mapping_id(env, ab);
  bool detached = true;
  if (!id || napi_is_detached_arraybuffer(env, ab, &detached) != napi_ok || detached) return 0;
  pthread_mutex_lock(&mappings_lock);
  mapping_t *m = mapping_find(id);
  int live = m && !m->unmapped;
  if (live) *addr = m->addr, *len = m->len;
  pthread_mutex_unlock(&mappings_lock);
  return live;
}

// mmap(fd, offset, length, prot) -> MAP_SHARED mapping as an external ArrayBuffer | -errno
static napi_value js_mmap(napi_env env, napi_callback_info info) {
  ARGS;
  int fd = arg_i32(&a, 0), prot = arg_i32(&a, 3);
  int64_t offset = arg_i64(&a, 1), length = arg_i64(&a, 2);
  BAIL_IF_BAD;
  void *addr = mmap(NULL, (size_t)length, prot, MAP_SHARED, fd, (off_t)offset);
  if (addr == MAP_FAILED) return num(env, -errno);
  mapping_id_t id = mapping_add(env, addr, (size_t)length);
  if (!id) { munmap(addr, (size_t)length); return num(env, -ENOMEM); }
  int64_t ignored;
  napi_adjust_external_memory(env, (int64_t)length, &ignored); /* every unmap takes it off again */

  napi_value ab;
  napi_status st = napi_create_external_arraybuffer(env, addr, (size_t)length, mapping_finalize, (void *)id, &ab);
  if (st == napi_no_external_buffers_allowed) {
    mapping_finalize(env, NULL, (void *)id); /* no ArrayBuffer will: unmapped and freed here */
    napi_value code, msg, err;
    napi_create_string_utf8(env, "ERR_DMAHEAP_NO_EXTERNAL_BUFFERS", NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, "this Node.js runtime does not allow external ArrayBuffers, so mmap cannot hand memory to JS",
                            NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, code, msg, &err);
    napi_throw(env, err);
    return NULL;
  }
  /* Any other failure (a length over buffer.constants.MAX_LENGTH, which TypeScript never asks for; the worker
     being terminated): the finalizer has run or will, or the environment's teardown unmaps. */
  if (st != napi_ok) return NULL;
  // From here the ArrayBuffer's finalizer unmaps at GC whatever fails. The wrap holds no memory: a plain id.
  if (napi_type_tag_object(env, ab, &MAPPING_TAG) != napi_ok) return num(env, -ENOMEM);
  if (napi_wrap(env, ab, (void *)id, NULL, NULL, NULL) != napi_ok) return num(env, -ENOMEM);
  return ab;
}

// munmap(ab) -> detach the ArrayBuffer, then munmap synchronously -> 0 | 1 when the memory stays mapped in
// another ArrayBuffer (this one was detached by a transfer; that one's finalizer unmaps) | -errno. Idempotent.
static napi_value js_munmap(napi_env env, napi_callback_info info) {
  ARGS;
  if (a.argc < 1) return num(env, -EINVAL);
  napi_value ab = a.argv[0];
  mapping_id_t id = get_mapping_id(env, ab);
  if (!id) return num(env, 0); /* not ours */
  bool detached = false;
  napi_is_detached_arraybuffer(env, ab, &detached);
  if (!detached && napi_detach_arraybuffer(env, ab) != napi_ok) return num(env, -EBUSY);
  pthread_mutex_lock(&mappings_lock);
  mapping_t *m = mapping_find(id);
  /* Detached before this call: unmapped through it already (0), or by a transfer with the memory live (1). */
  long r = !m ? 0 : detached ? !m->unmapped : mapping_unmap(m);
  pthread_mutex_unlock(&mappings_lock);
  if (r < 0) return num(env, r); /* the finalizer retries */
  if (detached) return num(env, r);
  forget_external(env, r);
  return num(env, 0);
}

// mappingAddress(ab) -> address as BigInt, 0n when not a live mapping
static napi_value js_mapping_address(napi_env env, napi_callback_info info) {
  ARGS;
  void *addr = NULL;
  size_t len = 0;
  if (a.argc < 1 || !live_mapping(env, a.argv[0], &addr, &len)) addr = NULL;
  napi_value r;
  napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)addr, &r);
  return r;
}

// madvise(ab, offset, length, advice) -> 0 | -errno. The bounds check is memory safety, not
// validation: it keeps advice such as MADV_DONTNEED from ever reaching memory outside the mapping.
static napi_value js_madvise(napi_env env, napi_callback_info info) {
  ARGS;
  int64_t offset = arg_i64(&a, 1), length = arg_i64(&a, 2);
  int advice = arg_i32(&a, 3);
  BAIL_IF_BAD;
  void *addr = NULL;
  size_t len = 0;
  if (!live_mapping(env, a.argv[0], &addr, &len) || offset < 0 || length < 0 || (uint64_t)offset + (uint64_t)length > len)
    return num(env, -EINVAL);
  return ret(env, madvise((char *)addr + offset, (size_t)length, advice));
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


/* ---------- sync files (Linux 6.0+) ---------- */

// bufExportSyncFile(fd, flags) -> DMA_BUF_IOCTL_EXPORT_SYNC_FILE -> sync_file fd | -errno
static napi_value js_buf_export_sync_file(napi_env env, napi_callback_info info) {
  ARGS;
  int fd = arg_i32(&a, 0);
  uint32_t flags = arg_u32(&a, 1);
  BAIL_IF_BAD;
  struct dma_buf_export_sync_file e = {.flags = flags, .fd = -1};
  if (ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e) < 0) return num(env, -errno);
  return num(env, own(env, e.fd));
}

// bufImportSyncFile(fd, flags, syncFd) -> DMA_BUF_IOCTL_IMPORT_SYNC_FILE -> 0 | -errno
static napi_value js_buf_import_sync_file(napi_env env, napi_callback_info info) {
  ARGS;
  int fd = arg_i32(&a, 0), sync_fd = arg_i32(&a, 2);
  uint32_t flags = arg_u32(&a, 1);
  BAIL_IF_BAD;
  struct dma_buf_import_sync_file i = {.flags = flags, .fd = sync_fd};
  return ret(env, ioctl(fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &i));
}

// fdSize(fd) -> lseek(fd, 0, SEEK_END), then back to 0 (a dma-buf's size) | -errno
static napi_value js_fd_size(napi_env env, napi_callback_info info) {
  ARGS;
  int fd = arg_i32(&a, 0);
  BAIL_IF_BAD;
  off_t end = lseek(fd, 0, SEEK_END);
  if (end < 0) return num(env, -errno);
  lseek(fd, 0, SEEK_SET);
  return num(env, (double)end);
}

/* ---------- fds over Unix sockets (SCM_RIGHTS) ---------- */

// sendFds(sock, bytes, fds Int32Array, count) -> sendmsg(MSG_DONTWAIT | MSG_NOSIGNAL) with the first `count`
// fds as SCM_RIGHTS -> bytes sent | -errno (EAGAIN: the socket is full, wait until writable)
static napi_value js_send_fds(napi_env env, napi_callback_info info) {
  ARGS;
  int sock = arg_i32(&a, 0);
  uint32_t count = arg_u32(&a, 3);
  BAIL_IF_BAD;
  napi_typedarray_type type;
  size_t len = 0, nfds = 0;
  void *data = NULL, *fds = NULL;
  if (napi_get_typedarray_info(env, a.argv[1], &type, &len, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) return num(env, -EINVAL);
  if (napi_get_typedarray_info(env, a.argv[2], &type, &nfds, &fds, NULL, NULL) != napi_ok || type != napi_int32_array) return num(env, -EINVAL);
  if (count > nfds || count > MAX_MESSAGE_FDS || len == 0) return num(env, -EINVAL);
  union { struct cmsghdr align; char buf[CMSG_SPACE(MAX_MESSAGE_FDS * sizeof(int))]; } control;
  struct iovec iov = {.iov_base = data, .iov_len = len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (count > 0) {
    memset(&control, 0, sizeof control);
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(count * sizeof(int));
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(count * sizeof(int));
    memcpy(CMSG_DATA(c), fds, count * sizeof(int));
  }
  ssize_t r;
  do r = sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return num(env, r < 0 ? -errno : (double)r);
}

// recvFds(sock, bytes, fds Int32Array, meta Int32Array[3]) -> recvmsg(MSG_DONTWAIT | MSG_CMSG_CLOEXEC) into bytes,
// with room for fds.length fds -> 0 | -errno; meta = [bytes read, fds received, msg_flags]. Every fd the kernel
// installed is in fds (also with MSG_CTRUNC set, when more came than fit: the kernel closed the rest), recorded
// as owned by env: the caller closes what it does not keep.
static napi_value js_recv_fds(napi_env env, napi_callback_info info) {
  ARGS;
  int sock = arg_i32(&a, 0);
  BAIL_IF_BAD;
  napi_typedarray_type type;
  size_t len = 0, room = 0, mlen = 0;
  void *data = NULL, *fds = NULL, *meta = NULL;
  if (a.argc < 4 ||
      napi_get_typedarray_info(env, a.argv[1], &type, &len, &data, NULL, NULL) != napi_ok || type != napi_uint8_array ||
      napi_get_typedarray_info(env, a.argv[2], &type, &room, &fds, NULL, NULL) != napi_ok || type != napi_int32_array ||
      napi_get_typedarray_info(env, a.argv[3], &type, &mlen, &meta, NULL, NULL) != napi_ok || type != napi_int32_array || mlen < 3)
    return num(env, -EINVAL);
  if (room > MAX_MESSAGE_FDS) room = MAX_MESSAGE_FDS;
  union { struct cmsghdr align; char buf[CMSG_SPACE(MAX_MESSAGE_FDS * sizeof(int))]; } control;
  struct iovec iov = {.iov_base = data, .iov_len = len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                       .msg_controllen = room ? CMSG_SPACE(room * sizeof(int)) : 0};
  if (!room) msg.msg_control = NULL;
  ssize_t r;
  do r = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0) return num(env, -errno);
  int32_t *out = fds, *m = meta;
  size_t n = 0;
  int extra = 0;
  for (struct cmsghdr *c = room ? CMSG_FIRSTHDR(&msg) : NULL; c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int *got = (int *)CMSG_DATA(c);
    for (size_t i = 0; i < k; i++) {
      if (n < room) out[n++] = (int32_t)own(env, got[i]);
      else { close(got[i]); extra = 1; } /* CMSG_SPACE rounds up: room for more than asked */
    }
  }
  m[0] = (int32_t)r;
  m[1] = (int32_t)n;
  m[2] = msg.msg_flags | (extra ? MSG_CTRUNC : 0);
  return num(env, 0);
}

// socketPair(type, out Int32Array[2]) -> socketpair(AF_UNIX, type | SOCK_CLOEXEC) -> 0 | -errno (both owned)
static napi_value js_socket_pair(napi_env env, napi_callback_info info) {
  ARGS;
  int type = arg_i32(&a, 0);
  BAIL_IF_BAD;
  napi_typedarray_type t;
  size_t n = 0;
  void *out = NULL;
  if (a.argc < 2 || napi_get_typedarray_info(env, a.argv[1], &t, &n, &out, NULL, NULL) != napi_ok || t != napi_int32_array || n < 2)
    return num(env, -EINVAL);
  int sv[2];
  if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0) return num(env, -errno);
  ((int32_t *)out)[0] = (int32_t)own(env, sv[0]);
  ((int32_t *)out)[1] = (int32_t)own(env, sv[1]);
  return num(env, 0);
}

// socketType(fd) -> getsockopt(SO_TYPE): SOCK_STREAM, SOCK_SEQPACKET, ... | -errno (ENOTSOCK)
static napi_value js_socket_type(napi_env env, napi_callback_info info) {
  ARGS;
  int fd = arg_i32(&a, 0);
  BAIL_IF_BAD;
  int type = 0;
  socklen_t l = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0) return num(env, -errno);
  int domain = 0;
  l = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l) < 0) return num(env, -errno);
  return num(env, domain == AF_UNIX ? type : -EAFNOSUPPORT);
}

/* ---------- waiting for an fd without blocking (libuv's poll watcher) ---------- */

// The one piece of event-loop glue: a uv_poll_t on the Node-API environment's loop calls back into JS when an
// fd is readable or writable (dma-bufs: their fences signalled; sync_files: signalled; sockets: data or room).
// Watchers still open when the environment is torn down are closed with it.
typedef struct watch watch_t;
/* What JavaScript holds (an External): it outlives the watcher, which libuv frees after uv_close. */
typedef struct { watch_t *w; } watch_ref_t;

struct watch {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  watch_t *next, *prev;
  instance_t *inst; /* while open */
  instance_t *home; /* counts its close until it called back */
  watch_ref_t *ref;
  int closed;
};

static instance_t *instance_of(napi_env env) {
  void *data = NULL;
  napi_get_instance_data(env, &data);
  return data;
}

static void watch_closed(uv_handle_t *h) {
  watch_t *w = h->data;
  instance_t *home = w->home;
  if (w->ref) w->ref->w = NULL;
  free(w);
  if (home && --home->closing == 0 && home->cleanup) {
    napi_async_cleanup_hook_handle cleanup = home->cleanup;
    home->cleanup = NULL;
    napi_remove_async_cleanup_hook(cleanup);
  }
}

static void watch_ref_finalize(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  watch_ref_t *ref = data;
  if (ref->w) ref->w->ref = NULL;
  free(ref);
}

static void watch_close(watch_t *w) {
  if (w->closed) return;
  w->closed = 1;
  instance_t *inst = w->inst;
  if (inst) {
    if (w->prev) w->prev->next = w->next;
    else if (inst->watches == w) inst->watches = w->next;
    if (w->next) w->next->prev = w->prev;
    w->inst = NULL;
  }
  uv_poll_stop(&w->poll);
  if (w->callback) napi_delete_reference(w->env, w->callback);
  if (w->context) napi_async_destroy(w->env, w->context);
  w->callback = NULL;
  w->context = NULL;
  if (w->home) w->home->closing++;
  uv_close((uv_handle_t *)&w->poll, watch_closed);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  watch_t *w = h->data;
  if (w->closed) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, global, argv[2], result;
  if (napi_get_reference_value(env, w->callback, &cb) == napi_ok && cb && napi_get_global(env, &global) == napi_ok) {
    int flags = (events & UV_READABLE ? 1 : 0) | (events & UV_WRITABLE ? 4 : 0) | (events & UV_DISCONNECT ? 16 : 0);
    argv[0] = num(env, status);
    argv[1] = num(env, flags);
    /* The JS side never throws out of its callback (it settles promises and emits events). */
    napi_make_callback(env, w->context, global, cb, 2, argv, &result);
  }
  napi_close_handle_scope(env, scope);
}

// watch(fd, events (1 readable | 4 writable), callback(status, events)) -> handle (an External) | -errno
static napi_value js_watch(napi_env env, napi_callback_info info) {
  ARGS;
  int fd = arg_i32(&a, 0), events = arg_i32(&a, 1);
  BAIL_IF_BAD;
  napi_valuetype t;
  if (a.argc < 3 || napi_typeof(env, a.argv[2], &t) != napi_ok || t != napi_function) return num(env, -EINVAL);
  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) return num(env, -ENOSYS);
  watch_t *w = calloc(1, sizeof *w);
  if (!w) return num(env, -ENOMEM);
  int r = uv_poll_init(loop, &w->poll, fd);
  if (r < 0) { free(w); return num(env, r); } /* libuv errors are -errno on Unix */
  w->poll.data = w;
  w->env = env;
  napi_value name;
  napi_create_string_utf8(env, "dmaheap:watch", NAPI_AUTO_LENGTH, &name);
  napi_create_reference(env, a.argv[2], 1, &w->callback);
  napi_async_init(env, NULL, name, &w->context);
  instance_t *inst = instance_of(env);
  w->inst = inst;
  w->home = inst;
  if (inst) {
    w->next = inst->watches;
    if (w->next) w->next->prev = w;
    inst->watches = w;
  }
  r = uv_poll_start(&w->poll, (events & 1 ? UV_READABLE : 0) | (events & 4 ? UV_WRITABLE : 0), on_poll);
  if (r < 0) { watch_close(w); return num(env, r); }
  watch_ref_t *ref = calloc(1, sizeof *ref);
  napi_value handle;
  if (!ref) { watch_close(w); return num(env, -ENOMEM); }
  ref->w = w;
  w->ref = ref;
  if (napi_create_external(env, ref, watch_ref_finalize, NULL, &handle) != napi_ok) {
    /* Node-API may fail after installing the finalizer (a worker being terminated), so ref is left to it: a
       few bytes, rather than memory freed twice. */
    ref->w = NULL;
    w->ref = NULL;
    watch_close(w);
    return num(env, -ENOMEM);
  }
  return handle;
}

// unwatch(handle) -> stops and closes the watcher (harmless twice) -> 0
static napi_value js_unwatch(napi_env env, napi_callback_info info) {
  ARGS;
  void *ref = NULL;
  if (a.argc < 1 || napi_get_value_external(env, a.argv[0], &ref) != napi_ok || !ref) return num(env, -EINVAL);
  if (((watch_ref_t *)ref)->w) watch_close(((watch_ref_t *)ref)->w);
  return num(env, 0);
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
  K(SOCK_STREAM); K(SOCK_DGRAM); K(SOCK_SEQPACKET); K(MSG_CTRUNC); K(MSG_TRUNC); K(EAGAIN);
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
    {"bufExportSyncFile", js_buf_export_sync_file}, {"bufImportSyncFile", js_buf_import_sync_file}, {"fdSize", js_fd_size},
    {"sendFds", js_send_fds}, {"recvFds", js_recv_fds}, {"socketType", js_socket_type}, {"socketPair", js_socket_pair},
    {"watch", js_watch}, {"unwatch", js_unwatch},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  napi_set_named_property(env, exports, "constants", make_constants(env));
  void *instance = NULL;
  if (napi_get_instance_data(env, &instance) == napi_ok && instance == NULL) {
    instance_t *inst = calloc(1, sizeof *inst);
    if (inst && napi_set_instance_data(env, inst, instance_finalize, NULL) != napi_ok) free(inst);
    else if (inst) napi_add_async_cleanup_hook(env, instance_cleanup, inst, NULL); /* without it, instance_finalize closes */
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
