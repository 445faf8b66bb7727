// Mappings handed to JavaScript as external ArrayBuffers: mmap, munmap (detach first, then unmap), the address of
// a live mapping, madvise within one; and the process-wide table of mapping slots that makes each mapping be
// unmapped exactly once, by munmap, by its ArrayBuffer's finalizer or by its environment's teardown.
#include "args.h"
#include <pthread.h>

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
void unmap_owned(napi_env env) {
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
napi_value js_mmap(napi_env env, napi_callback_info info) {
  ARGV(4);
  ARG_INT32(fd, 0);
  ARG_INT64(offset, 1);
  ARG_INT64(length, 2);
  ARG_INT32(prot, 3);
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

// munmap(mapping) -> detach the ArrayBuffer, then munmap synchronously -> 0 | 1 when the memory stays mapped in
// another ArrayBuffer (this one was detached by a transfer; that one's finalizer unmaps) | -errno. Idempotent;
// 0 for an ArrayBuffer that is no mapping.
napi_value js_munmap(napi_env env, napi_callback_info info) {
  ARGV(1);
  ARG_ARRAYBUFFER(mapping, 0);
  mapping_id_t id = get_mapping_id(env, mapping);
  if (!id) return num(env, 0); /* not ours */
  bool detached = false;
  napi_is_detached_arraybuffer(env, mapping, &detached);
  if (!detached && napi_detach_arraybuffer(env, mapping) != napi_ok) return num(env, -EBUSY);
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

// mappingAddress(mapping) -> address as BigInt, 0n when not a live mapping
napi_value js_mapping_address(napi_env env, napi_callback_info info) {
  ARGV(1);
  ARG_ARRAYBUFFER(mapping, 0);
  void *addr = NULL;
  size_t len = 0;
  if (!live_mapping(env, mapping, &addr, &len)) addr = NULL;
  napi_value r;
  napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)addr, &r);
  return r;
}

// madvise(mapping, offset, length, advice) -> 0 | -errno. The bounds check is memory safety, not validation:
// it keeps advice such as MADV_DONTNEED from ever reaching memory outside the mapping.
napi_value js_madvise(napi_env env, napi_callback_info info) {
  ARGV(4);
  ARG_ARRAYBUFFER(mapping, 0);
  ARG_INT64(offset, 1);
  ARG_INT64(length, 2);
  ARG_INT32(advice, 3);
  void *addr = NULL;
  size_t len = 0;
  if (!live_mapping(env, mapping, &addr, &len) || offset < 0 || length < 0 || (uint64_t)offset + (uint64_t)length > len)
    return num(env, -EINVAL);
  return ret(env, madvise((char *)addr + offset, (size_t)length, advice));
}
