#!/usr/bin/env bash
# Instructions tern spends in ibm,configure-connector, counted by callgrind on an optimized host
# build without sanitizers (BUILD/bench: the firmware's own walker against a fake QEMU): per whole
# walk of a CPU core fragment and per OS call. Counts are exact and repeatable, unlike timings.
#   tools/bench-walk.sh [BUILD] [LIBFDT_SRC]     (make bench-walk)
set -euo pipefail
build=${1:-build}
libfdt=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/tern/libfdt}
command -v valgrind >/dev/null || { echo "tools/bench-walk.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cmake -S tests -B "$build/bench" -DCMAKE_BUILD_TYPE=Release -DTERN_SANITIZE=OFF \
  -DLIBFDT_SRC="$libfdt" -DTERN_IMAGE="$build/tern.bin" >/dev/null
cmake --build "$build/bench" --target walk_bench -- --no-print-directory >/dev/null
bench=$build/bench/walk_bench
fragment=$build/bench/data/drc-cpu-core.dtb
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bench" "$fragment" 1
for walks in 1 10; do
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.$walks" \
    --toggle-collect='drc::ConfigureConnector*' "$bench" "$fragment" "$walks" >/dev/null 2>&1
  total=$(callgrind_annotate "$out/cg.$walks" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  echo "walks=$walks instructions in configure-connector: $total"
done
