#!/usr/bin/env bash
# uq bench score (f32, bf16) and benches/pytorch_unet.py (f32, bf16; NCHW and channels-last) at batch 1
# and 8, run round-robin ROUNDS times in one go so machine load hits all alike; JSON lines to OUT, then
# a markdown table of the medians over rounds (benches/summarize.py).
# Usage: PYTHON=/path/to/venv/bin/python benches/compare.sh [ROUNDS] [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
out=${2:-target/bench-compare.jsonl}
python=${PYTHON:-python3}
uq=${UQ:-target/release/uq}
args=(--channels 32,64,128 --size 64 --image-channels 2)
: > "$out"
for r in $(seq "$rounds"); do
  for b in 1 8; do
    UQ_SCORE_PRECISION=f32 "$uq" bench score "${args[@]}" --batch "$b" --no-reference >> "$out"
    "$uq" bench score "${args[@]}" --batch "$b" --no-reference --bf16 >> "$out"
    "$python" benches/pytorch_unet.py "${args[@]}" --batch "$b" >> "$out"
    "$python" benches/pytorch_unet.py "${args[@]}" --batch "$b" --channels-last >> "$out"
  done
  echo "round $r done" >&2
done
python3 benches/summarize.py "$out"
