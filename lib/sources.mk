# Which of this folder's sources go into which build. Read by the Makefile and by
# tests/CMakeLists.txt: one list per line, `folder_role := files`, no continuation lines.
#   _firmware  the boot image (tern.bin)      _rtas  the RTAS image (rtas.bin)
#   _host      the host unit tests and tools  _dump  tools/tern-rtas-dump
lib_firmware := arena.cc cell-block.cc console.cc cpu-ppc64.cc crc32.cc fdt.cc format.cc guest-memory.cc hv.cc hv-ppc64.cc libc.cc panic.cc string.cc
lib_rtas := cell-block.cc console.cc crc32.cc format.cc guest-memory.cc hv.cc hv-ppc64.cc libc.cc panic.cc string.cc
lib_host := arena.cc cell-block.cc console.cc crc32.cc fdt.cc format.cc guest-memory.cc hv.cc panic.cc string.cc
lib_dump := crc32.cc string.cc
