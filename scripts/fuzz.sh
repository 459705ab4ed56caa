#!/usr/bin/env bash
# Builds the libFuzzer targets (native/fuzz/fuzz_*.cpp) with ASan+UBSan into build-fuzz/ and
# runs each for a budget. Usage (`npm run fuzz -- ...` passes the same arguments):
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS] [MAX_RUNS]     defaults: all, 60, 10000000
#   scripts/fuzz.sh --build-only
#
# TARGET is safetensors, zip, torch_pickle, torch_bin, json or config. A target stops at
# SECONDS or MAX_RUNS executions, whichever comes first. Seed corpora are generated from the
# committed fixtures into build-fuzz/corpus/<target>/ (plus native/fuzz/seeds/<target>/);
# crashers land in build-fuzz/artifacts/<target>/, logs in build-fuzz/logs/. Exit status 1
# if any target found something.
set -uo pipefail
cd "$(dirname "$0")/.."

TARGETS=(safetensors zip torch_pickle torch_bin json config)
OUT=${FUZZ_OUT:-build-fuzz}
CXX=${FUZZ_CXX:-clang++}  # libFuzzer is clang's; not $CXX, which CI may set to g++
CXXFLAGS=(-std=c++17 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined)
# Only the parser sources (native/core depends on nothing else for these).
CORE=(safetensors zip_reader torch_pickle json file_io bert_config adapter_config head)

build() {
  mkdir -p "$OUT/obj"
  local objs=() src obj
  for name in "${CORE[@]}"; do
    src=native/core/$name.cpp obj=$OUT/obj/$name.o
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find native/core -name '*.h' -newer "$obj")" ]; then
      echo "[fuzz] compile $src"
      "$CXX" "${CXXFLAGS[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || return 1
    fi
    objs+=("$obj")
  done
  for t in "${TARGETS[@]}"; do
    src=native/fuzz/fuzz_$t.cpp
    if [ ! -f "$OUT/fuzz_$t" ] || [ -n "$(find "$src" native/fuzz/*.h "${objs[@]}" -newer "$OUT/fuzz_$t")" ]; then
      echo "[fuzz] link $OUT/fuzz_$t"
      "$CXX" "${CXXFLAGS[@]}" -fsanitize=fuzzer "$src" "${objs[@]}" -o "$OUT/fuzz_$t" || return 1
    fi
  done
}

# Copies files (at most 64 KiB each, so mutations stay cheap) into a corpus folder, named by
# content hash so the many identical fixtures count once.
add_seeds() {
  local dir=$1 f
  shift
  for f in "$@"; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 65536 ] && cp "$f" "$dir/$(sha1sum <"$f" | cut -c1-16)"
  done
  return 0
}

corpus() {
  local t=$1 dir=$OUT/corpus/$1
  mkdir -p "$dir"
  add_seeds "$dir" native/fuzz/seeds/"$t"/*
  case $t in
    safetensors) add_seeds "$dir" $(find fixtures -name '*.safetensors') ;;
    zip | torch_bin) add_seeds "$dir" $(find fixtures -name '*.bin') ;;
    json | config) add_seeds "$dir" $(find fixtures -name '*.json') ;;
    torch_pickle) # the data.pkl of every fixture .bin
      python3 - "$dir" $(find fixtures -name '*.bin') <<'PY' || echo "[fuzz] python3 missing: torch_pickle starts from native/fuzz/seeds only"
import hashlib, sys, zipfile
for path in sys.argv[2:]:
    try:
        z = zipfile.ZipFile(path)
        names = [n for n in z.namelist() if n.endswith('/data.pkl')]
        if names and z.getinfo(names[0]).compress_type == 0:
            data = z.read(names[0])
            open(sys.argv[1] + '/' + hashlib.sha1(data).hexdigest()[:16], 'wb').write(data)
    except Exception:
        pass  # hostile fixtures (truncated, legacy) have no pickle to take
PY
      ;;
  esac
}

dict_for() {
  case $1 in
    safetensors) cat native/fuzz/safetensors.dict native/fuzz/json.dict ;;
    zip) cat native/fuzz/zip.dict ;;
    torch_pickle) cat native/fuzz/torch_pickle.dict ;;
    torch_bin) cat native/fuzz/zip.dict native/fuzz/torch_pickle.dict ;;
    json) cat native/fuzz/json.dict ;;
    config) cat native/fuzz/config.dict native/fuzz/json.dict ;;
  esac
}

run() {
  local t=$1 seconds=$2 runs=$3 log=$OUT/logs/$1.log
  mkdir -p "$OUT/artifacts/$t" "$OUT/logs"
  corpus "$t"
  dict_for "$t" >"$OUT/$t.dict"
  echo "[fuzz] $t: up to ${seconds}s or $runs runs"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb also caps single mallocs (2 GB).
  "$OUT/fuzz_$t" "$OUT/corpus/$t" -dict="$OUT/$t.dict" -max_total_time="$seconds" -runs="$runs" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t/" >"$log" 2>&1
  local rc=$?
  local execs rate
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
  if [ "$rc" -eq 0 ]; then
    echo "[fuzz] $t: ${execs:-?} executions, ${rate:-?} exec/s, nothing found"
  else
    echo "[fuzz] $t: FOUND something after ${execs:-?} executions (exit $rc); see $log and $OUT/artifacts/$t/"
    grep -m1 -E 'ERROR: |runtime error|==[0-9]+==' "$log" | sed 's/^/[fuzz]   /'
  fi
  return $rc
}

main() {
  command -v "$CXX" >/dev/null || { echo "[fuzz] $CXX not found (clang with libFuzzer is needed)"; exit 2; }
  build || { echo "[fuzz] build failed"; exit 2; }
  [ "${1:-}" = "--build-only" ] && exit 0

  which=${1:-all} seconds=${2:-60} runs=${3:-10000000}
  if [ "$which" = all ]; then
    selected=("${TARGETS[@]}")
  elif [[ " ${TARGETS[*]} " == *" $which "* ]]; then
    selected=("$which")
  else
    echo "[fuzz] unknown target '$which' (one of: ${TARGETS[*]}, all)"
    exit 2
  fi
  found=0
  for t in "${selected[@]}"; do run "$t" "$seconds" "$runs" || found=1; done
  return $found
}

# One line, so the whole run is parsed before it starts (editing this file mid-run is safe).
main "$@"; exit $?
