// memfd: memfd_create (recorded against the caller's environment), ftruncate, fallocate, and the seals
// (F_ADD_SEALS, F_GET_SEALS) that udmabuf requires of the memfds it is given.
#include "args.h"

// memfdCreate(name, flags) -> fd | -errno
napi_value js_memfd_create(napi_env env, napi_callback_info info) {
  ARGV(2);
  ARG_STRING(name, 0);
  ARG_INT32(flags, 1);
  int fd = memfd_create(name, (unsigned)flags);
  return num(env, fd < 0 ? -errno : own(env, fd));
}

// ftruncate(fd, len) -> 0 | -errno
napi_value js_ftruncate(napi_env env, napi_callback_info info) {
  ARGV(2);
  ARG_INT32(fd, 0);
  ARG_INT64(len, 1);
  return ret(env, ftruncate(fd, (off_t)len));
}

// fallocate(fd, mode, offset, len) -> 0 | -errno
napi_value js_fallocate(napi_env env, napi_callback_info info) {
  ARGV(4);
  ARG_INT32(fd, 0);
  ARG_INT32(mode, 1);
  ARG_INT64(offset, 2);
  ARG_INT64(len, 3);
  return ret(env, fallocate(fd, mode, (off_t)offset, (off_t)len));
}

// addSeals(fd, seals) -> fcntl(F_ADD_SEALS) -> 0 | -errno
napi_value js_add_seals(napi_env env, napi_callback_info info) {
  ARGV(2);
  ARG_INT32(fd, 0);
  ARG_INT32(seals, 1);
  return ret(env, fcntl(fd, F_ADD_SEALS, seals));
}

// getSeals(fd) -> fcntl(F_GET_SEALS) -> seal mask | -errno
napi_value js_get_seals(napi_env env, napi_callback_info info) {
  ARGV(1);
  ARG_INT32(fd, 0);
  return ret(env, fcntl(fd, F_GET_SEALS));
}
