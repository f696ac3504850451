# The fuzz targets, one line each: tern_fuzz_target(NAME LIBS ... [SOURCES ...]) builds
# tests/fuzz/NAME_fuzz.cc (fuzz.cmake); its seed inputs are tests/fuzz/corpus/NAME/, the inputs of
# crashes found and fixed tests/fuzz/regressions/NAME/. docs/testing.md, "Fuzzing".
tern_fuzz_target(boot_fdt LIBS tern_of tern_drc tern_bootmgr tern_dev)
