# Which of this folder's sources go into which build. Read by the Makefile and by
# tests/CMakeLists.txt: one list per line, `folder_role := files`, no continuation lines.
#   _firmware  the boot image (tern.bin)      _host  the host unit tests and tools
nvram_firmware := editor.cc partitions.cc variables.cc
nvram_host := editor.cc partitions.cc variables.cc
