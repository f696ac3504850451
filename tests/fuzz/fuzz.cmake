# Fuzz targets: tests/fuzz/<name>_fuzz.cc, each listed once in targets.cmake, which is read twice:
# - by the fuzz build (TERN_FUZZ=ON, clang, build/fuzz): tern_fuzz_target links <name>_fuzz with
#   libFuzzer, from the firmware's own module libraries instrumented for coverage, with ASan and
#   UBSan;
# - by the test build (build/host, FUZZ_BUILD set by `make test`): tern_fuzz_target registers the
#   CTest smoke test fuzz_<name> (label fuzz), which runs the binary built in FUZZ_BUILD over its
#   corpus and regression inputs and fuzzes it for a few seconds (tools/fuzz.sh --smoke).
set(TERN_FUZZ_DIR "${CMAKE_CURRENT_LIST_DIR}")
if(TERN_FUZZ)
  # libfdt keeps its coverage counters but not the comparison tracing: tern walks the tree with
  # libfdt on every step, and tracing its comparisons costs most of each run.
  target_compile_options(host_libfdt PRIVATE -fno-sanitize-coverage=trace-cmp)
  add_custom_target(fuzz_data ALL DEPENDS ${FIXTURE_BLOBS})
  add_library(fuzz_support OBJECT ${TERN_FUZZ_DIR}/fuzz-support.cc)
  tern_sources(fuzz_support)
  target_compile_definitions(fuzz_support PRIVATE TERN_TEST_DATA_DIR="${DATA_DIR}")
  target_link_libraries(fuzz_support PUBLIC tern_lib)
  # tern_fuzz_target(NAME [LIBS module libraries...] [SOURCES extra sources (test fakes)...])
  function(tern_fuzz_target name)
    cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
    add_executable(${name}_fuzz ${TERN_FUZZ_DIR}/${name}_fuzz.cc ${ARG_SOURCES})
    tern_sources(${name}_fuzz)
    target_compile_definitions(${name}_fuzz PRIVATE TERN_TEST_DATA_DIR="${DATA_DIR}")
    tern_libs(libs ${ARG_LIBS})
    target_link_libraries(${name}_fuzz PRIVATE ${libs} fuzz_support test_support)
    target_link_options(${name}_fuzz PRIVATE -fsanitize=fuzzer)
    add_dependencies(${name}_fuzz fuzz_data)
  endfunction()
else()
  function(tern_fuzz_target name)
    add_test(NAME fuzz_${name}
      COMMAND "${TERN_ROOT}/tools/fuzz.sh" --smoke --build "${FUZZ_BUILD}" ${name})
    set_tests_properties(fuzz_${name} PROPERTIES LABELS fuzz TIMEOUT 300)
  endfunction()
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${TERN_FUZZ_DIR}/targets.cmake")
include("${TERN_FUZZ_DIR}/targets.cmake")
