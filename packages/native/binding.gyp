{
  "targets": [
    {
      "target_name": "dmaheap_native",
      "sources": [
        "c/owners.c", "c/fds.c", "c/heaps.c", "c/mappings.c", "c/memfd.c", "c/udmabuf.c",
        "c/sync_file.c", "c/sockets.c", "c/watch.c", "c/module.c"
      ],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror=implicit-function-declaration", "-fvisibility=hidden"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
