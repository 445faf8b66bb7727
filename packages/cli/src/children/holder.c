// A process holding known dma-bufs, for ls.vm.test.ts (compiled there with the system's cc). Each argument is a
// buffer:
//   alloc:SIZE:NAME:HOW[:DUPS]   a new buffer from /dev/dma_heap/system; NAME "-" for none; HOW fd, map (mapped,
//                                then its fd closed) or both; DUPS extra fds of it (dup)
//   inherit:FD:HOW               a buffer inherited as fd FD
// It prints one JSON line, {"pid":..,"buffers":[{"ino","size","name","fds","mappings","mappedBytes"}]}, then holds
// everything until its stdin closes.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what) {
  perror(what);
  exit(1);
}

int main(int argc, char **argv) {
  int heap = -1;
  printf("{\"pid\":%d,\"buffers\":[", getpid());
  for (int i = 1; i < argc; i++) {
    char *spec = strdup(argv[i]);
    char *kind = strtok(spec, ":");
    int fd;
    size_t size;
    const char *name = NULL;
    char *how;
    int dups = 0;
    if (strcmp(kind, "alloc") == 0) {
      size = strtoull(strtok(NULL, ":"), NULL, 10);
      char *n = strtok(NULL, ":");
      how = strtok(NULL, ":");
      char *d = strtok(NULL, ":");
      if (d) dups = atoi(d);
      if (heap < 0 && (heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC)) < 0) die("open /dev/dma_heap/system");
      struct dma_heap_allocation_data data = {.len = size, .fd_flags = O_RDWR | O_CLOEXEC};
      if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &data) < 0) die("DMA_HEAP_IOCTL_ALLOC");
      fd = (int)data.fd;
      if (strcmp(n, "-") != 0) {
        if (ioctl(fd, DMA_BUF_SET_NAME_B, n) < 0) die("DMA_BUF_SET_NAME_B");
        name = n;
      }
    } else if (strcmp(kind, "inherit") == 0) {
      fd = atoi(strtok(NULL, ":"));
      how = strtok(NULL, ":");
      off_t end = lseek(fd, 0, SEEK_END);
      if (end < 0) die("lseek");
      size = (size_t)end;
    } else {
      fprintf(stderr, "bad spec %s\n", argv[i]);
      return 2;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) die("fstat");
    int mapped = strcmp(how, "map") == 0 || strcmp(how, "both") == 0;
    if (mapped) {
      void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (p == MAP_FAILED) die("mmap");
      ((volatile char *)p)[0] = 1;
    }
    int fds[8];
    int nfds = 0;
    if (strcmp(how, "map") == 0) {
      close(fd);
    } else {
      fds[nfds++] = fd;
      for (int k = 0; k < dups && nfds < 8; k++) {
        int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (d < 0) die("dup");
        fds[nfds++] = d;
      }
    }
    printf("%s{\"ino\":%lu,\"size\":%zu,\"name\":", i > 1 ? "," : "", (unsigned long)st.st_ino, size);
    if (name) printf("\"%s\"", name);
    else printf("null");
    printf(",\"fds\":[");
    for (int k = 0; k < nfds; k++) printf("%s%d", k ? "," : "", fds[k]);
    printf("],\"mappings\":%d,\"mappedBytes\":%zu}", mapped, mapped ? size : 0);
    free(spec);
  }
  if (heap >= 0) close(heap);
  printf("]}\n");
  fflush(stdout);
  char buf[256];
  while (read(0, buf, sizeof buf) > 0) {
  }
  return 0;
}
