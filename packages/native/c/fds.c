// fds: open (recorded against the caller's environment), close (forgotten first), dup (F_DUPFD_CLOEXEC, not
// recorded: a copy to give away), and a file's size by lseek (a dma-buf's size).
#include "args.h"

// open(path, flags, mode) -> fd | -errno
napi_value js_open(napi_env env, napi_callback_info info) {
  ARGV(3);
  ARG_STRING(path, 0);
  ARG_INT32(flags, 1);
  ARG_INT32(mode, 2);
  int fd = open(path, flags, (mode_t)mode);
  return num(env, fd < 0 ? -errno : own(env, fd));
}

// close(fd) -> 0 | -errno (EINTR still means closed on Linux; TS treats it so)
napi_value js_close(napi_env env, napi_callback_info info) {
  ARGV(1);
  ARG_INT32(fd, 0);
  disown(fd); /* before close: once closed, the number may be another thread's */
  return ret(env, close(fd));
}

// dup(fd) -> fcntl(F_DUPFD_CLOEXEC) -> new fd | -errno
napi_value js_dup(napi_env env, napi_callback_info info) {
  ARGV(1);
  ARG_INT32(fd, 0);
  return ret(env, fcntl(fd, F_DUPFD_CLOEXEC, 0));
}

// fdSize(fd) -> lseek(fd, 0, SEEK_END), then back to 0 (a dma-buf's size) | -errno
napi_value js_fd_size(napi_env env, napi_callback_info info) {
  ARGV(1);
  ARG_INT32(fd, 0);
  off_t end = lseek(fd, 0, SEEK_END);
  if (end < 0) return num(env, -errno);
  lseek(fd, 0, SEEK_SET);
  return num(env, (double)end);
}
