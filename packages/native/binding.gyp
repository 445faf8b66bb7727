{
  "targets": [
    {
      "target_name": "dmaheap_native",
      "sources": ["binding.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
