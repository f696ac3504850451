# Which of this folder's sources go into which build. Read by the Makefile and by
# tests/CMakeLists.txt: one list per line, `folder_role := files`, no continuation lines.
#   _firmware  the boot image (tern.bin)      _rtas  the RTAS image (rtas.bin)
#   _host      the host unit tests and tools  _dump  tools/tern-rtas-dump
boot_firmware := client.cc devices.cc exception.cc halt.cc layout.cc main.cc os-tree.cc entry.S rtas-image.S
boot_host := devices.cc exception.cc layout.cc os-tree.cc
