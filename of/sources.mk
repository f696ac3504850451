# Which of this folder's sources go into which build. Read by the Makefile and by
# tests/CMakeLists.txt: one list per line, `folder_role := files`, no continuation lines.
#   _firmware  the boot image (tern.bin)      _rtas  the RTAS image (rtas.bin)
#   _host      the host unit tests and tools  _dump  tools/tern-rtas-dump
of_firmware := block-package.cc cas.cc claims.cc client-interface.cc console-package.cc machine-info.cc network-package.cc package.cc tree.cc
of_host := block-package.cc cas.cc claims.cc client-interface.cc console-package.cc machine-info.cc network-package.cc package.cc tree.cc
