// Waiting for an fd without blocking: a libuv poll watcher on the environment's own event loop calls back into
// JavaScript when the fd is readable or writable (dma-bufs: fences signalled; sync_files: signalled; sockets:
// data or room). Watchers still open when the environment is torn down are closed with it (owners.c).
#include "args.h"
#include <uv.h>

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

void watch_close(watch_t *w) {
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
napi_value js_watch(napi_env env, napi_callback_info info) {
  ARGV(3);
  ARG_INT32(fd, 0);
  ARG_INT32(events, 1);
  ARG_FUNCTION(callback, 2);
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
  napi_create_reference(env, callback, 1, &w->callback);
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
napi_value js_unwatch(napi_env env, napi_callback_info info) {
  ARGV(1);
  ARG_EXTERNAL(handle, 0, "a handle from watch()");
  if (!handle) return num(env, -EINVAL);
  if (((watch_ref_t *)handle)->w) watch_close(((watch_ref_t *)handle)->w);
  return num(env, 0);
}
