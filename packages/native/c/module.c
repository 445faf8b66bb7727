// The module: the bindings exported under their JavaScript names, the header constants TypeScript needs
// (src/binding.ts types them), and each environment's instance data (owners.c) set up on load.
#include "addon.h"
#include <sys/socket.h>

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
    {"open", js_open}, {"close", js_close}, {"dup", js_dup}, {"fdSize", js_fd_size},
    {"heapAlloc", js_heap_alloc}, {"heapAllocAsync", js_heap_alloc_async},
    {"bufSync", js_buf_sync}, {"bufSetName", js_buf_set_name},
    {"mmap", js_mmap}, {"munmap", js_munmap}, {"mappingAddress", js_mapping_address}, {"madvise", js_madvise},
    {"memfdCreate", js_memfd_create}, {"ftruncate", js_ftruncate}, {"fallocate", js_fallocate},
    {"addSeals", js_add_seals}, {"getSeals", js_get_seals},
    {"udmabufCreate", js_udmabuf_create}, {"udmabufCreateList", js_udmabuf_create_list},
    {"bufExportSyncFile", js_buf_export_sync_file}, {"bufImportSyncFile", js_buf_import_sync_file},
    {"sendFds", js_send_fds}, {"recvFds", js_recv_fds}, {"socketType", js_socket_type}, {"socketPair", js_socket_pair},
    {"watch", js_watch}, {"unwatch", js_unwatch},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  napi_set_named_property(env, exports, "constants", make_constants(env));
  instance_init(env);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
