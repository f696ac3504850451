# Which of this folder's sources go into which build. Read by the Makefile and by
# tests/CMakeLists.txt: one list per line, `folder_role := files`, no continuation lines.
#   _firmware  the boot image (tern.bin)      _rtas  the RTAS image (rtas.bin)
#   _host      the host unit tests and tools  _dump  tools/tern-rtas-dump
rtas_firmware := host-call.cc instantiate.cc services.cc state-region.cc
rtas_rtas := dispatch.cc runtime.cc services.cc state-region.cc entry.S
rtas_host := dispatch.cc host-call.cc instantiate.cc services.cc state-region.cc
rtas_dump := services.cc state-region.cc
