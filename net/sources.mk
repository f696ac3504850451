# Which of this folder's sources go into which build. Read by the Makefile and by
# tests/CMakeLists.txt: one list per line, `folder_role := files`, no continuation lines.
#   _firmware  the boot image (tern.bin)      _rtas  the RTAS image (rtas.bin)
#   _host      the host unit tests and tools  _dump  tools/tern-rtas-dump
net_firmware := arp.cc boot-arguments.cc dhcp.cc dhcp-client.cc ethernet.cc ipv4.cc stack.cc tftp.cc tftp-client.cc udp.cc
net_host := arp.cc boot-arguments.cc dhcp.cc dhcp-client.cc ethernet.cc ipv4.cc stack.cc tftp.cc tftp-client.cc udp.cc
