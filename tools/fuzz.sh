#!/usr/bin/env bash
# Runs tern's libFuzzer targets (tests/fuzz/<target>_fuzz.cc, listed in tests/fuzz/targets.cmake),
# built by `make fuzz` / `make test` in BUILD/fuzz.
#
#   tools/fuzz.sh [--build DIR] [--seconds N] [TARGET...]
#       Fuzzes each target (default: all) for N seconds (default 60), one after another, and prints
#       a table: target, executions per second, coverage (libFuzzer's cov: edges and ft: features
#       at the end), crashes. The working corpus grows in DIR/<target>/corpus (seeded from
#       tests/fuzz/corpus/<target> and tests/fuzz/regressions/<target>); a crash stops that
#       target's run, its input is saved in DIR/<target>/crashes/ and the table says how to
#       reproduce it. Exit status 1 when any target crashed.
#   tools/fuzz.sh --smoke [--build DIR] TARGET...
#       The CTest smoke (fuzz_<target>, label fuzz): runs every input of the target's corpus and
#       regressions, then fuzzes for at most 3 seconds from them in a scratch corpus
#       (DIR/<target>/smoke); fails on any crash.
#   tools/fuzz.sh --seeds [--build DIR] [TARGET...]
#       Rewrites tests/fuzz/corpus/<target>/ with the seeds the target's fuzz::MakeSeeds makes.
#
#   --build DIR   the fuzz build (default build/fuzz)
#   --help        this text
#
# A target's dictionary, tests/fuzz/dict/<target>.dict, is passed with -dict when it exists.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=build/fuzz
seconds=60
mode=fuzz
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --smoke) mode=smoke; shift ;;
    --seeds) mode=seeds; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "tools/fuzz.sh: unknown option $1 (--help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
case "$seconds" in
  ''|*[!0-9]*) echo "tools/fuzz.sh: --seconds takes a whole number" >&2; exit 2 ;;
esac
build=$(cd "$build" 2>/dev/null && pwd) || {
  echo "tools/fuzz.sh: no fuzz build in $build (make fuzz builds it)" >&2
  exit 2
}
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^tern_fuzz_target(\([a-z0-9_]*\).*/\1/p' "$root/tests/fuzz/targets.cmake")
fi

# The libFuzzer options every run shares: a hang is an input that takes over 25 s, and memory is
# bounded well below the machine's.
common=(-timeout=25 -rss_limit_mb=4096)
inputs() {  # inputs TARGET: the checked-in corpus and regression directories that exist
  local dir
  for dir in "$root/tests/fuzz/corpus/$1" "$root/tests/fuzz/regressions/$1"; do
    [ -d "$dir" ] && echo "$dir"
  done
  return 0
}
dict() {  # dict TARGET: the -dict option, when the target has a dictionary
  [ -e "$root/tests/fuzz/dict/$1.dict" ] && echo "-dict=$root/tests/fuzz/dict/$1.dict"
  return 0
}
binary() {
  local bin="$build/$1_fuzz"
  if [ ! -x "$bin" ]; then
    echo "tools/fuzz.sh: $bin is not built (a target of tests/fuzz/targets.cmake?)" >&2
    exit 2
  fi
  echo "$bin"
}

case "$mode" in
  seeds)
    for t in "${targets[@]}"; do
      bin=$(binary "$t")
      dir="$root/tests/fuzz/corpus/$t"
      mkdir -p "$dir"
      rm -f "$dir"/*
      TERN_FUZZ_SEEDS="$dir" "$bin"
      echo "$t: $(ls "$dir" | wc -l) seeds, $(du -sb "$dir" | cut -f1) bytes in tests/fuzz/corpus/$t"
    done
    ;;
  smoke)
    status=0
    for t in "${targets[@]}"; do
      bin=$(binary "$t")
      scratch="$build/$t/smoke"
      rm -rf "$scratch"
      mkdir -p "$scratch/corpus"
      mapfile -t dirs < <(inputs "$t")
      if "$bin" "${common[@]}" -max_total_time=3 -runs=1000000 -artifact_prefix="$scratch/" \
          $(dict "$t") "$scratch/corpus" "${dirs[@]}" >"$scratch/log" 2>&1; then
        echo "fuzz_$t: $(grep -c . < <(find "${dirs[@]}" -type f)) inputs and" \
          "$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$scratch/log") runs, no crash"
      else
        echo "fuzz_$t: FAILED; the end of $scratch/log:"
        grep -v '^#[0-9]' "$scratch/log" | tail -40
        status=1
      fi
    done
    exit $status
    ;;
  fuzz)
    results=()
    crashed=0
    for t in "${targets[@]}"; do
      bin=$(binary "$t")
      work="$build/$t"
      mkdir -p "$work/corpus" "$work/crashes"
      mapfile -t dirs < <(inputs "$t")
      before=$(ls "$work/crashes" | wc -l)
      echo "tools/fuzz.sh: $t for ${seconds}s ..." >&2
      start=$(date +%s)
      rc=0
      "$bin" "${common[@]}" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$work/crashes/" $(dict "$t") "$work/corpus" "${dirs[@]}" \
        >"$work/fuzz.log" 2>&1 || rc=$?
      elapsed=$(( $(date +%s) - start ))
      [ "$elapsed" -gt 0 ] || elapsed=1
      # The last status line: "#RUNS <event> cov: C ft: F corp: ... exec/s: E ...".
      last=$(grep -E '^#[0-9]+' "$work/fuzz.log" | grep ' cov: ' | tail -1 || true)
      runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -1)
      [ -n "$runs" ] || runs=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
      cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
      ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
      new=$(( $(ls "$work/crashes" | wc -l) - before ))
      [ "$rc" -eq 0 ] || [ "$new" -gt 0 ] || new=1  # a failure that left no input
      [ "$new" -eq 0 ] || crashed=1
      results+=("$(printf '%-18s %9s %8s %8s %8s %8s' "$t" "$(( ${runs:-0} / elapsed ))" \
        "${cov:-?}" "${ft:-?}" "$new" "${elapsed}s")")
    done
    printf '%-18s %9s %8s %8s %8s %8s\n' target exec/s cov ft crashes time
    printf '%s\n' "${results[@]}"
    if [ "$crashed" -ne 0 ]; then
      echo
      echo "Crash inputs: $build/<target>/crashes/ (logs: $build/<target>/fuzz.log)."
      echo "Reproduce: TERN_FUZZ_VERBOSE=1 $build/<target>_fuzz FILE"
      exit 1
    fi
    ;;
esac
