// A C peer on the socket passed as its fd 3 (share.vm.test.ts): the same protocol as peer.py and peer.mjs, in
// plain C with the kernel's UAPI headers. JSON is read with strstr for the few fields it needs.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>

#define SOCK 3
#define MAXFDS 253

static int fd_count(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  while (readdir(d)) n++;
  closedir(d);
  return n - 3; /* ., .. and the directory's own fd */
}

static void die(const char *what) { perror(what); exit(1); }

static int recv_exact(void *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = recv(SOCK, (char *)p + got, n - got, 0);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

/* One frame: its JSON (malloc'd, NUL-terminated) and the fds that came with its first bytes. */
static char *recv_frame(int *fds, int *nfds) {
  uint32_t len = 0;
  union { struct cmsghdr align; char buf[CMSG_SPACE(MAXFDS * sizeof(int))]; } control;
  struct iovec iov = {.iov_base = &len, .iov_len = 4};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
  ssize_t r = recvmsg(SOCK, &msg, MSG_CMSG_CLOEXEC);
  if (r <= 0) return NULL;
  *nfds = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      memcpy(fds + *nfds, CMSG_DATA(c), (size_t)k * sizeof(int));
      *nfds += k;
    }
  }
  if (r < 4 && recv_exact((char *)&len + r, 4 - (size_t)r) < 0) return NULL;
  char *body = malloc(len + 1);
  if (recv_exact(body, len) < 0) return NULL;
  body[len] = 0;
  return body;
}

static void send_frame(const char *json, const int *fds, int nfds) {
  uint32_t len = (uint32_t)strlen(json);
  char *frame = malloc(4 + len);
  memcpy(frame, &len, 4);
  memcpy(frame + 4, json, len);
  union { struct cmsghdr align; char buf[CMSG_SPACE(MAXFDS * sizeof(int))]; } control;
  struct iovec iov = {.iov_base = frame, .iov_len = 4 + len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (nfds > 0) {
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
  }
  if (sendmsg(SOCK, &msg, MSG_NOSIGNAL) != (ssize_t)(4 + len)) die("sendmsg");
  free(frame);
}

/* The number after `"key":`, searched from `from`; -1 when absent. */
static long long field(const char *from, const char *key, const char **after) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  const char *p = strstr(from, pattern);
  if (!p) return -1;
  if (after) *after = p + strlen(pattern);
  return strtoll(p + strlen(pattern), NULL, 10);
}

static void sync_buf(int fd, uint64_t flags) {
  struct dma_buf_sync s = {.flags = flags};
  while (ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) < 0 && (errno == EINTR || errno == EAGAIN)) {}
}

static void fdinfo(int fd, char *exporter, char *name) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  FILE *f = fopen(path, "r");
  exporter[0] = name[0] = 0;
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (!strncmp(line, "exp_name:\t", 10)) strcpy(exporter, line + 10);
    if (!strncmp(line, "name:\t", 6)) strcpy(name, line + 6);
  }
  if (f) fclose(f);
}

int main(void) {
  int fds[MAXFDS], nfds = 0;
  char *msg;
  while ((msg = recv_frame(fds, &nfds))) {
    char reply[8192];
    if (strstr(msg, "\"op\":\"hello\"")) {
      snprintf(reply, sizeof reply, "{\"op\":\"hello\",\"fds\":%d,\"pid\":%d}", fd_count(), getpid());
      send_frame(reply, NULL, 0);
    } else if (strstr(msg, "\"op\":\"consume\"")) {
      const char *meta = strstr(msg, "\"meta\":");
      int fill = (int)field(meta, "fill", NULL);
      long long marker = field(meta, "marker", NULL);
      int at = snprintf(reply, sizeof reply, "{\"op\":\"consumed\",\"results\":[");
      const char *cursor = msg;
      for (int i = 0; i < nfds; i++) {
        const char *next = cursor;
        long long index = field(cursor, "fd", &next);
        long long size = field(next, "size", &next);
        cursor = next;
        int fd = fds[index];
        unsigned char *m = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) die("mmap");
        sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
        int ok = 1;
        for (long long b = 0; b < size; b++) if (m[b] != fill) { ok = 0; break; }
        sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
        if (marker >= 0) {
          sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
          memset(m, (int)marker, (size_t)size);
          sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
        }
        munmap(m, (size_t)size);
        char exporter[64], name[64];
        fdinfo(fd, exporter, name);
        at += snprintf(reply + at, sizeof reply - (size_t)at, "%s{\"ok\":%s,\"size\":%lld,\"exporter\":\"%s\",\"name\":\"%s\"}", i ? "," : "",
                       ok ? "true" : "false", size, exporter, name);
      }
      snprintf(reply + at, sizeof reply - (size_t)at, "]}");
      for (int i = 0; i < nfds; i++) close(fds[i]);
      send_frame(reply, NULL, 0);
    } else if (strstr(msg, "\"op\":\"produce\"")) {
      long long count = field(msg, "count", NULL), size = field(msg, "size", NULL), fill = field(msg, "fill", NULL);
      const char *n = strstr(msg, "\"name\":\"");
      char base[32] = "c";
      if (n) sscanf(n + 8, "%31[^\"]", base);
      int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
      if (heap < 0) die("open /dev/dma_heap/system");
      for (long long i = 0; i < count; i++) {
        struct dma_heap_allocation_data d = {.len = (uint64_t)size, .fd_flags = O_RDWR | O_CLOEXEC};
        if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) < 0) die("DMA_HEAP_IOCTL_ALLOC");
        char name[64];
        snprintf(name, sizeof name, "%s-%lld", base, i);
        ioctl((int)d.fd, DMA_BUF_SET_NAME_B, name);
        unsigned char *m = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)d.fd, 0);
        sync_buf((int)d.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
        memset(m, (int)fill, (size_t)size);
        sync_buf((int)d.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
        munmap(m, (size_t)size);
        snprintf(reply, sizeof reply, "{\"dmaheap\":1,\"buffers\":[{\"fd\":0,\"size\":%lld,\"name\":\"%s\"}],\"meta\":{\"i\":%lld}}", size, name, i);
        int fd = (int)d.fd;
        send_frame(reply, &fd, 1);
        close(fd);
      }
      close(heap);
    } else if (strstr(msg, "\"op\":\"too-many-fds\"")) {
      int n = (int)field(msg, "n", NULL), spare[MAXFDS];
      for (int i = 0; i < n; i++) spare[i] = 0;
      send_frame("{\"op\":\"too-many\"}", spare, n);
      send_frame("{\"op\":\"after\"}", NULL, 0);
    } else if (strstr(msg, "\"op\":\"die-mid-frame\"")) {
      const char *body = "{\"op\":\"never finished\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}";
      uint32_t len = (uint32_t)strlen(body);
      char frame[14];
      memcpy(frame, &len, 4);
      memcpy(frame + 4, body, 10);
      int zero = 0;
      union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } control;
      struct iovec iov = {.iov_base = frame, .iov_len = sizeof frame};
      struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
      struct cmsghdr *c = CMSG_FIRSTHDR(&m);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(c), &zero, sizeof zero);
      sendmsg(SOCK, &m, MSG_NOSIGNAL);
      _exit(0);
    } else if (strstr(msg, "\"op\":\"bye\"")) {
      snprintf(reply, sizeof reply, "{\"op\":\"bye\",\"fds\":%d}", fd_count());
      send_frame(reply, NULL, 0);
      free(msg);
      break;
    }
    free(msg);
  }
  return 0;
}
