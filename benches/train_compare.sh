#!/usr/bin/env bash
# One `uq train` step (`uq bench train`) against the same step in PyTorch (`pytorch_unet.py --train`,
# NCHW and channels-last), [32,64,128] U-Net, batch 8, 64×64, one image channel, round-robin ROUNDS
# times; JSON lines to OUT, then the medians over rounds and uq's ratio to the faster PyTorch.
# Usage: PYTHON=/path/to/venv/bin/python benches/train_compare.sh [ROUNDS] [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
out=${2:-target/bench-train.jsonl}
python=${PYTHON:-python3}
uq=${UQ:-target/release/uq}
args=(--channels 32,64,128 --size 64 --batch 8)
: > "$out"
for r in $(seq "$rounds"); do
  "$uq" bench train "${args[@]}" >> "$out"
  "$python" benches/pytorch_unet.py --train "${args[@]}" --image-channels 1 >> "$out"
  "$python" benches/pytorch_unet.py --train "${args[@]}" --image-channels 1 --channels-last >> "$out"
  echo "round $r done" >&2
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(f):
    v = [r["step_ms"] for r in rows if f(r)]
    return statistics.median(v) if v else float("nan")
uq = med(lambda r: r.get("impl") != "pytorch")
nchw = med(lambda r: r.get("impl") == "pytorch" and not r["channels_last"])
nhwc = med(lambda r: r.get("impl") == "pytorch" and r["channels_last"])
print("| training step, median over rounds (ms) | uq | PyTorch NCHW | PyTorch channels-last | uq / best PyTorch |")
print("|---|---|---|---|---|")
print(f"| [32,64,128], batch 8, 64×64 | {uq:.0f} | {nchw:.0f} | {nhwc:.0f} | {uq / min(nchw, nhwc):.2f} |")
PY
