#!/usr/bin/env bash
# Instructions tern spends per ibm,configure-connector call, counted by callgrind on an optimized
# host build without sanitizers (BUILD/bench): the firmware's own RTAS dispatcher and walker
# against a fake QEMU, whose own instructions are left out. Counts are exact and repeatable,
# unlike timings. For each fragment kind: instructions per walk and per OS call.
#   tools/bench-walk.sh [BUILD] [LIBFDT_SRC]
set -euo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
build=${1:-build}
libfdt=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/tern/libfdt}
command -v valgrind >/dev/null || { echo "tools/bench-walk.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cmake -S tests -B "$build/bench" -DCMAKE_BUILD_TYPE=Release -DTERN_SANITIZE=OFF \
  -DLIBFDT_SRC="$libfdt" -DTERN_IMAGE="$build/tern.bin" >/dev/null
cmake --build "$build/bench" --target walk_bench -- --no-print-directory >/dev/null
bench=$build/bench/walk_bench
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-13s %9s %6s %6s %12s %9s\n' fragment bytes calls host instr/walk instr/call
for kind in cpu-core pci-device phb pci-bridge pci-tree-64k wide-64k; do
  line=$(cd "$build/bench" && valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
    --toggle-collect='rtas::Dispatch*' ./walk_bench "$kind" 1 2>/dev/null | tail -1)
  total=$(callgrind_annotate "$out/cg" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  host=$(callgrind_annotate --inclusive=yes "$out/cg" 2>/dev/null |
    awk '/tests::FakeHypervisor::Dispatch/ {gsub(",", "", $1); print $1; exit}')
  calls=$(sed 's/.* calls=\([0-9]*\).*/\1/' <<<"$line")
  hosts=$(sed 's/.* host_calls=\([0-9]*\).*/\1/' <<<"$line")
  bytes=$(sed 's/.* fragment_bytes=\([0-9]*\).*/\1/' <<<"$line")
  tern=$((total - ${host:-0}))
  printf '%-13s %9s %6s %6s %12s %9s\n' "$kind" "$bytes" "$calls" "$hosts" "$tern" $((tern / calls))
done
