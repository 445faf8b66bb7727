// Sync files (Linux 6.0+): a dma-buf's fences out as a sync_file fd (DMA_BUF_IOCTL_EXPORT_SYNC_FILE, recorded
// against the caller) and a sync_file's fence into a dma-buf (DMA_BUF_IOCTL_IMPORT_SYNC_FILE).
#include "args.h"

// bufExportSyncFile(fd, flags) -> DMA_BUF_IOCTL_EXPORT_SYNC_FILE -> sync_file fd | -errno
napi_value js_buf_export_sync_file(napi_env env, napi_callback_info info) {
  ARGV(2);
  ARG_INT32(fd, 0);
  ARG_UINT32(flags, 1);
  struct dma_buf_export_sync_file e = {.flags = flags, .fd = -1};
  if (ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e) < 0) return num(env, -errno);
  return num(env, own(env, e.fd));
}

// bufImportSyncFile(fd, flags, syncFd) -> DMA_BUF_IOCTL_IMPORT_SYNC_FILE -> 0 | -errno
napi_value js_buf_import_sync_file(napi_env env, napi_callback_info info) {
  ARGV(3);
  ARG_INT32(fd, 0);
  ARG_UINT32(flags, 1);
  ARG_INT32(syncFd, 2);
  struct dma_buf_import_sync_file i = {.flags = flags, .fd = syncFd};
  return ret(env, ioctl(fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &i));
}
