// fd owners and environment teardown: every fd the addon creates is recorded against the Node-API environment
// (main thread or worker) that asked for it, and what is still recorded when that environment is torn down is
// closed then; the environment's instance data, whose cleanup also closes its watchers and unmaps its mappings.
#include "addon.h"
#include <pthread.h>

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
long own(napi_env env, long fd) {
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

void disown(int fd) {
  pthread_mutex_lock(&owners_lock);
  if (fd >= 0 && (size_t)fd < owners_len) owners[fd] = NULL;
  pthread_mutex_unlock(&owners_lock);
}

/* Closes what env still owns (its environment is going away: worker terminated or finished, process exiting). */
void close_owned(napi_env env) {
  pthread_mutex_lock(&owners_lock);
  for (size_t fd = 0; fd < owners_len; fd++) {
    if (owners[fd] != env) continue;
    close((int)fd);
    owners[fd] = NULL;
  }
  pthread_mutex_unlock(&owners_lock);
}

/* ---------- the environment's instance data ---------- */

instance_t *instance_of(napi_env env) {
  void *data = NULL;
  napi_get_instance_data(env, &data);
  return data;
}

// Poll watchers are libuv handles: uv_close calls back later, from the loop, into this library's code. When the
// environment is torn down (a worker ends) Node unloads the library once the environment is gone, so that
// callback must have run before: an async cleanup hook closes every watcher, and the environment's teardown
// keeps running the loop until the last close has called back (watch_closed ends the hook). Allocations on the
// thread pool need no hook: the teardown runs the loop until every one has completed, before any cleanup hook.
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
  inst->finalized = 1;
  /* A close callback or an allocation's completion still to come reads it: left, a few bytes. */
  if (inst->closing == 0 && inst->jobs == 0) free(inst);
}

/* Gives env its instance data, once (a second load of the addon in one environment has its own env). */
void instance_init(napi_env env) {
  void *instance = NULL;
  if (napi_get_instance_data(env, &instance) != napi_ok || instance != NULL) return;
  instance_t *inst = calloc(1, sizeof *inst);
  if (inst && napi_set_instance_data(env, inst, instance_finalize, NULL) != napi_ok) free(inst);
  else if (inst) napi_add_async_cleanup_hook(env, instance_cleanup, inst, NULL); /* without it, instance_finalize closes */
}
