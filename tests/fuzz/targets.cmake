# The fuzz targets, one line each: tern_fuzz_target(NAME LIBS ... [SOURCES ...]) builds
# tests/fuzz/NAME_fuzz.cc (fuzz.cmake); its seed inputs are tests/fuzz/corpus/NAME/, the inputs of
# crashes found and fixed tests/fuzz/regressions/NAME/. docs/testing.md, "Fuzzing".
tern_fuzz_target(boot_fdt LIBS tern_boot tern_drc)
tern_fuzz_target(cas_vector LIBS tern_of)
tern_fuzz_target(cas_answer LIBS tern_of)
tern_fuzz_target(client_interface LIBS tern_of)
tern_fuzz_target(rtas_dump LIBS tern_rtas tern_drc SOURCES ${TERN_ROOT}/tools/rtas-dump.cc)
tern_fuzz_target(rtas_dispatch LIBS tern_rtas)
tern_fuzz_target(fdt_records LIBS tern_drc)
tern_fuzz_target(partitions LIBS tern_block)
tern_fuzz_target(elf LIBS tern_bootmgr)
tern_fuzz_target(scsi LIBS tern_dev)
tern_fuzz_target(virtio_blk LIBS tern_dev SOURCES ${TERN_ROOT}/tests/unit/dev/fake-pci.cc)
tern_fuzz_target(vscsi LIBS tern_dev SOURCES ${TERN_ROOT}/tests/unit/dev/fake-vscsi.cc ${TERN_ROOT}/tests/unit/dev/fake-scsi.cc)
tern_fuzz_target(walker LIBS tern_drc)
tern_fuzz_target(state_region LIBS tern_drc SOURCES ${TERN_ROOT}/tests/fake-qemu-cc.cc)
tern_fuzz_target(net_rx LIBS tern_net SOURCES ${TERN_ROOT}/tests/unit/net/fake-network.cc)
