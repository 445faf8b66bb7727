// The test rig's one system call: ioctl(fd, request, bytes) for the V4L2 and DRM structs tests build by hand.
// Not part of any published package: a generic ioctl cannot be memory-safe (a struct may carry pointers the
// kernel writes through), so it lives only here, for tests that build their structs themselves.
// The addon also holds the seed benchmark's C loop (rig/seed.c), for apps/bench.
// Memory safety of the argument itself is kept: the request must encode a direction and a size, and the
// bytes must hold at least that size, so the kernel never reads or writes past them.
#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <node_api.h>

static napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

// ioctl(fd, request, Uint8Array) -> result | -errno (-EINVAL for bad arguments; restarted while EINTR)
static napi_value js_ioctl(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  uint32_t request;
  napi_typedarray_type type;
  size_t len = 0;
  void *data = NULL;
  bool typed = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_uint32(env, argv[1], &request) != napi_ok ||
      napi_is_typedarray(env, argv[2], &typed) != napi_ok || !typed ||
      napi_get_typedarray_info(env, argv[2], &type, &len, &data, NULL, NULL) != napi_ok || type != napi_uint8_array)
    return num(env, -EINVAL);
  if (_IOC_DIR(request) == _IOC_NONE || len < _IOC_SIZE(request)) return num(env, -EINVAL);
  int r;
  do r = ioctl(fd, (unsigned long)request, data);
  while (r < 0 && errno == EINTR);
  return num(env, r < 0 ? -errno : r);
}

// rig/seed.c: the seed benchmark's loop in C, for apps/bench.
napi_value js_seed_loop(napi_env env, napi_callback_info info);

static napi_value init(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "ioctl", NAPI_AUTO_LENGTH, js_ioctl, NULL, &f);
  napi_set_named_property(env, exports, "ioctl", f);
  napi_create_function(env, "seedLoop", NAPI_AUTO_LENGTH, js_seed_loop, NULL, &f);
  napi_set_named_property(env, exports, "seedLoop", f);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
