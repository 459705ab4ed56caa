#!/usr/bin/env bash
# Sanitizer runs (`npm run test:asan`), built into build-asan/ (CMake, AF_SANITIZE=ON):
#   1. the native tests under ASan + UBSan, halting on the first report;
#   2. the native tests again with LeakSanitizer (detect_leaks=1);
#   3. the addon under ASan + UBSan, loaded by node with the ASan runtime preloaded, running a
#      representative part of the ava suite from a copy of the package (so the normal
#      build/Release addon is left alone).
# Usage: scripts/test-asan.sh [--native-only] [ava test files...]  (default files: AVA_FILES below)
# Ends with "N passed, N failed" over the steps; exit status 1 if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."

OUT=build-asan
# clang by default. clang 14 rejects __builtin_cpu_supports("f16c") (native/cpu/gemm.cpp); where
# clang does, gcc's sanitizers build the tree instead. AF_SAN_CC=gcc|clang forces a choice.
pick_compiler() {
  local cc=${AF_SAN_CC:-}
  if [ -z "$cc" ]; then
    cc=gcc
    echo 'int main(void) { return __builtin_cpu_supports("f16c"); }' |
      clang -x c -fsyntax-only - 2>/dev/null && cc=clang
    [ "$cc" = gcc ] && log "clang rejects __builtin_cpu_supports(\"f16c\") (native/cpu/gemm.cpp): using gcc"
  fi
  if [ "$cc" = clang ]; then
    CC=clang CXX=clang++ ASAN_RT=$(clang -print-file-name=libclang_rt.asan-x86_64.so)
  else
    CC=gcc CXX=g++ ASAN_RT=$(gcc -print-file-name=libasan.so)
  fi
}
# Parsers and hostile files (malformed-*), model loading and errors, adapters, fusion and heads
# (.bin and .safetensors), training, the per-model task queue: the native paths JS reaches.
AVA_FILES=(safetensors malformed-weights malformed-text model-errors model-golden adapters-io adapters-golden concurrency crash-safety)
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
passed=0 failed=0

log() { echo "[asan] $*"; }
step() {  # step NAME COMMAND...: runs it, counts it, keeps the sanitizer report visible
  local name=$1 start=$SECONDS
  shift
  if "$@"; then
    passed=$((passed + 1)); log "ok - $name ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1)); log "not ok - $name ($((SECONDS - start)) s)"
  fi
}

build() {
  local targets=(af_native_tests)
  [ "$native_only" = 1 ] || targets+=(adapterfusion)
  # cmake-js adds the N-API include paths (needed for the addon target).
  mkdir -p "$OUT"
  npx --no-install cmake-js configure --out "$OUT" --cc "$CC" --cxx "$CXX" -B RelWithDebInfo \
    --CDAF_SANITIZE=ON "--CDCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" >"$OUT/configure.log" 2>&1 ||
    { cat "$OUT/configure.log"; return 1; }
  cmake --build "$OUT" -j "${JOBS:-2}" --target "${targets[@]}"
}

# allocator_may_return_null: a native test asks for SIZE_MAX/2 bytes and expects OutOfMemory.
native_tests() {  # native_tests NAME ASAN_OPTIONS
  ASAN_OPTIONS=$2 "$OUT/af_native_tests" >"$OUT/native-$1.log" 2>&1
  local rc=$?
  grep -E '^[0-9]+ passed, [0-9]+ failed$|^not ok|ERROR: |SUMMARY: |runtime error' "$OUT/native-$1.log"
  return $rc
}

# A copy of the package whose build/Release/adapterfusion.node is the ASan build: dist/ is
# copied (tests find fixtures and the addon from their own real path), the rest linked.
ava_under_asan() {
  local pkg files=()
  pkg=$(mktemp -d /tmp/af-asan-pkg-XXXXXX) || return 1
  cp package.json "$pkg/" && cp -r dist "$pkg/dist" && mkdir -p "$pkg/build/Release" &&
    cp "$OUT/RelWithDebInfo/adapterfusion.node" "$pkg/build/Release/" || { rm -rf "$pkg"; return 1; }
  for p in node_modules fixtures scripts; do ln -s "$PWD/$p" "$pkg/$p"; done
  for f in "${ava_files[@]}"; do files+=("dist/test/$f.test.js"); done
  # detect_leaks=0: node itself keeps allocations alive at exit. Node's own code is not
  # instrumented, so only the addon is checked.
  (cd "$pkg" && LD_PRELOAD="$ASAN_RT" ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 \
    node node_modules/ava/entrypoints/cli.mjs --tap "${files[@]}") >"$OUT/ava.log" 2>&1
  local rc=$?
  grep -E '^# (pass|fail|skip)|^not ok|ERROR: |SUMMARY: |runtime error' "$OUT/ava.log"
  rm -rf "$pkg"
  return $rc
}

main() {
  native_only=0
  [ "${1:-}" = --native-only ] && { native_only=1; shift; }
  ava_files=("$@")
  [ "$#" -gt 0 ] || ava_files=("${AVA_FILES[@]}")
  pick_compiler
  [ -f "$ASAN_RT" ] || { log "$CXX with the ASan runtime is needed"; echo "0 passed, 1 failed"; return 1; }
  log "compiler: $CXX; ASan runtime: $ASAN_RT"

  local start=$SECONDS
  step "build (ASan + UBSan)" build
  if [ "$failed" -gt 0 ]; then echo "$passed passed, $failed failed"; return 1; fi
  step "native tests under ASan + UBSan" native_tests asan detect_leaks=0:halt_on_error=1:allocator_may_return_null=1
  step "native tests under LeakSanitizer" native_tests lsan detect_leaks=1:halt_on_error=1:allocator_may_return_null=1
  if [ "$native_only" = 0 ]; then
    if [ ! -f dist/test/safetensors.test.js ]; then npx --no-install tsc -p tsconfig.json || log "tsc failed"; fi
    step "addon under ASan + UBSan: ava ${ava_files[*]}" ava_under_asan
  fi
  log "done in $((SECONDS - start)) s; logs in $OUT/*.log"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# One line, so the whole run is parsed before it starts.
main "$@"; exit $?
