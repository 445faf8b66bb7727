// udmabuf: dma-bufs over memfd ranges, one range (UDMABUF_CREATE) or a list of them (UDMABUF_CREATE_LIST, the
// ranges given as [memfd, offset, size] triples in a Float64Array); the new fd is recorded against the caller.
#include "args.h"

// udmabufCreate(devFd, memfd, offset, size, flags) -> UDMABUF_CREATE -> dma-buf fd | -errno
napi_value js_udmabuf_create(napi_env env, napi_callback_info info) {
  ARGV(5);
  ARG_INT32(devFd, 0);
  ARG_INT32(memfd, 1);
  ARG_INT64(offset, 2);
  ARG_INT64(size, 3);
  ARG_INT32(flags, 4);
  struct udmabuf_create c = {.memfd = (uint32_t)memfd, .flags = (uint32_t)flags,
                             .offset = (uint64_t)offset, .size = (uint64_t)size};
  long r = ioctl(devFd, UDMABUF_CREATE, &c);
  return r < 0 ? num(env, -errno) : num(env, own(env, r));
}

// udmabufCreateList(devFd, flags, items Float64Array [memfd, offset, size]*, count?) -> UDMABUF_CREATE_LIST with
// the first `count` triples (default: all of them), so a caller can reuse one array -> dma-buf fd | -errno.
// A count beyond the array is -EINVAL: memory safety, the array is never read past its end.
napi_value js_udmabuf_create_list(napi_env env, napi_callback_info info) {
  ARGV(4);
  ARG_INT32(devFd, 0);
  ARG_INT32(flags, 1);
  ARG_FLOAT64_ARRAY(items, 2);
  ARG_OPT_UINT32(count, 3, (uint32_t)(items_length / 3));
  if (count > items_length / 3) return num(env, -EINVAL);
  const double *v = items;
  /* Most buffers are a few ranges: those need no heap allocation. */
  struct { struct udmabuf_create_list head; struct udmabuf_create_item items[8]; } small;
  struct udmabuf_create_list *list = &small.head;
  if (count > 8 && !(list = malloc(sizeof *list + count * sizeof list->list[0]))) return num(env, -ENOMEM);
  list->flags = (uint32_t)flags;
  list->count = count;
  for (size_t i = 0; i < count; i++) {
    list->list[i] = (struct udmabuf_create_item){
      .memfd = (uint32_t)v[3 * i], .__pad = 0, .offset = (uint64_t)v[3 * i + 1], .size = (uint64_t)v[3 * i + 2]};
  }
  int r = ioctl(devFd, UDMABUF_CREATE_LIST, list);
  int err = errno;
  if (list != &small.head) free(list);
  return num(env, r < 0 ? -err : own(env, r));
}
