{
  "targets": [
    {
      "target_name": "udp_batch",
      "sources": ["udp_batch.c", "udp_batch_napi.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [["OS!='linux'", {"sources!": ["udp_batch.c", "udp_batch_napi.c"], "type": "none"}]]
    }
  ]
}
