# Which of this folder's sources go into which build. Read by the Makefile and by
# tests/CMakeLists.txt: one list per line, `folder_role := files`, no continuation lines.
#   _firmware  the boot image (tern.bin)      _rtas  the RTAS image (rtas.bin)
#   _host      the host unit tests and tools  _dump  tools/tern-rtas-dump
drc_firmware := registry.cc
drc_rtas := fdt-records.cc room.cc rtas-services.cc serving.cc slot-table.cc snapshot.cc snapshot-records.cc walker.cc
drc_host := fdt-records.cc registry.cc room.cc rtas-services.cc serving.cc slot-table.cc snapshot.cc snapshot-records.cc walker.cc
drc_dump := snapshot-records.cc
