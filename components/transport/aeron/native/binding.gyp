{
  "targets": [
    {
      "target_name": "bourse_shm",
      "sources": ["shm.cc"],
      "cflags_cc": ["-O2", "-std=c++20", "-Wall", "-Wextra"]
    }
  ]
}
