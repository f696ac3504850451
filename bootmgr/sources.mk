# Which of this folder's sources go into which build. Read by the Makefile and by
# tests/CMakeLists.txt: one list per line, `folder_role := files`, no continuation lines.
#   _firmware  the boot image (tern.bin)      _rtas  the RTAS image (rtas.bin)
#   _host      the host unit tests and tools  _dump  tools/tern-rtas-dump
bootmgr_firmware := boot-order.cc chrp-boot.cc elf.cc loader.cc net-boot.cc staging.cc
bootmgr_host := boot-order.cc chrp-boot.cc elf.cc loader.cc net-boot.cc staging.cc
