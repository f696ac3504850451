# Which of this folder's sources go into which build. Read by the Makefile and by
# tests/CMakeLists.txt: one list per line, `folder_role := files`, no continuation lines.
#   _firmware  the boot image (tern.bin)      _rtas  the RTAS image (rtas.bin)
#   _host      the host unit tests and tools  _dump  tools/tern-rtas-dump
dev_firmware := pci.cc pci-bridge.cc probe.cc scsi.cc virtio-blk.cc virtio-device.cc virtio-pci.cc vscsi.cc virtio-scsi.cc vio.cc spapr-vlan.cc virtio-net.cc
dev_host := pci.cc pci-bridge.cc probe.cc scsi.cc virtio-blk.cc virtio-device.cc virtio-pci.cc vscsi.cc virtio-scsi.cc vio.cc spapr-vlan.cc virtio-net.cc
