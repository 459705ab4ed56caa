#!/usr/bin/env bash
# Copies what run.sh produced into this folder, without data or weights: every run.json,
# metrics.jsonl and fusion_activations.json (enough to rebuild the report with
# `adapterfusion report docs/experiments/minilm/runs`), and the report itself.
#   OUT=path/to/runs bash collect.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:?set OUT to the output folder of run.sh}
AF=${AF:-"node $here/../../../dist/lib/cli/main.js"}
rm -rf "$here/runs" "$here/report"
(cd "$OUT" && find . \( -name checkpoints -o -name report \) -prune -o \
  \( -name run.json -o -name metrics.jsonl -o -name fusion_activations.json \) -print) |
  while read -r f; do mkdir -p "$here/runs/$(dirname "$f")" && cp "$OUT/$f" "$here/runs/$f"; done
$AF report "$here/runs" --html --out "$here/report"
