{
  "targets": [
    {
      "target_name": "dmaheap_rig",
      "sources": ["rig/ioctl.c", "rig/seed.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
