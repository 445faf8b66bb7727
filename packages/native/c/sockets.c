// fds over Unix sockets: sendmsg and recvmsg with SCM_RIGHTS, never blocking (the caller waits for readiness on
// the event loop), received fds close-on-exec and recorded against the caller; socketpair; a socket's type.
#include "args.h"
#include <sys/socket.h>
#include <sys/un.h>

// sendFds(sock, data, fds Int32Array, count) -> sendmsg(MSG_DONTWAIT | MSG_NOSIGNAL) with the first `count`
// fds as SCM_RIGHTS -> bytes sent | -errno (EAGAIN: the socket is full, wait until writable). A count beyond
// the array or SCM_MAX_FD, or empty data, is -EINVAL: the array is never read past its end.
napi_value js_send_fds(napi_env env, napi_callback_info info) {
  ARGV(4);
  ARG_INT32(sock, 0);
  ARG_UINT8_ARRAY(data, 1);
  ARG_INT32_ARRAY(fds, 2);
  ARG_UINT32(count, 3);
  if (count > fds_length || count > MAX_MESSAGE_FDS || data_length == 0) return num(env, -EINVAL);
  union { struct cmsghdr align; char buf[CMSG_SPACE(MAX_MESSAGE_FDS * sizeof(int))]; } control;
  struct iovec iov = {.iov_base = data, .iov_len = data_length};
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

// recvFds(sock, data, fds Int32Array, meta Int32Array[3]) -> recvmsg(MSG_DONTWAIT | MSG_CMSG_CLOEXEC) into data,
// with room for fds.length fds -> 0 | -errno; meta = [bytes read, fds received, msg_flags]. Every fd the kernel
// installed is in fds (also with MSG_CTRUNC set, when more came than fit: the kernel closed the rest), recorded
// as owned by env: the caller closes what it does not keep. A meta of fewer than 3 is -EINVAL.
napi_value js_recv_fds(napi_env env, napi_callback_info info) {
  ARGV(4);
  ARG_INT32(sock, 0);
  ARG_UINT8_ARRAY(data, 1);
  ARG_INT32_ARRAY(fds, 2);
  ARG_INT32_ARRAY(meta, 3);
  if (meta_length < 3) return num(env, -EINVAL);
  size_t room = fds_length > MAX_MESSAGE_FDS ? MAX_MESSAGE_FDS : fds_length;
  union { struct cmsghdr align; char buf[CMSG_SPACE(MAX_MESSAGE_FDS * sizeof(int))]; } control;
  struct iovec iov = {.iov_base = data, .iov_len = data_length};
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

// socketPair(type, out Int32Array[2]) -> socketpair(AF_UNIX, type | SOCK_CLOEXEC) -> 0 | -errno (both owned). An
// out of fewer than 2 is -EINVAL.
napi_value js_socket_pair(napi_env env, napi_callback_info info) {
  ARGV(2);
  ARG_INT32(type, 0);
  ARG_INT32_ARRAY(out, 1);
  if (out_length < 2) return num(env, -EINVAL);
  int sv[2];
  if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0) return num(env, -errno);
  ((int32_t *)out)[0] = (int32_t)own(env, sv[0]);
  ((int32_t *)out)[1] = (int32_t)own(env, sv[1]);
  return num(env, 0);
}

// socketType(fd) -> getsockopt(SO_TYPE): SOCK_STREAM, SOCK_SEQPACKET, ... | -errno (ENOTSOCK; EAFNOSUPPORT for
// sockets that are not Unix sockets)
napi_value js_socket_type(napi_env env, napi_callback_info info) {
  ARGV(1);
  ARG_INT32(fd, 0);
  int type = 0;
  socklen_t l = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0) return num(env, -errno);
  int domain = 0;
  l = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l) < 0) return num(env, -errno);
  return num(env, domain == AF_UNIX ? type : -EAFNOSUPPORT);
}
