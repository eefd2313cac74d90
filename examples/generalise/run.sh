#!/usr/bin/env bash
# Posterior sampling on the generalisation data (examples/generalise/simulate.py) with one model and
# one prior file, then examples/evaluate on each run. Usage, from the repository root:
#   examples/generalise/run.sh MODEL.uq PRIOR.safetensors TAG [SET_SLICE ...]
# e.g. examples/generalise/run.sh models/mri.uq models/mri64_ve.safetensors ve-new head_8 head2_45
# MODEL.uq's `score("…")` file is replaced by PRIOR (a copy of the model goes to uq-out/generalise/TAG/);
# default SET_SLICEs: every scored slice of every set. Results: uq-out/generalise/TAG/{SET_SLICE}/ and
# one line per run in uq-out/generalise/TAG/results.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
model=$1 prior=$2 tag=$3
shift 3
uq=${UQ:-target/release/uq}
evaluate=${EVALUATE:-target/release/examples/evaluate}   # cargo build --release --example evaluate
data=examples/data/generalise
out=uq-out/generalise/$tag
mkdir -p "$out"
runs=("$@")
if [ ${#runs[@]} -eq 0 ]; then
  runs=(head_3 head_8 head_13 head2_35 head2_45 head2_55 brain_3 brain_8 brain_13)
fi
# The model copy lives in models/ so its relative data paths still resolve.
copy=models/.generalise_${tag}.uq
sed "s#score(\"[^\"]*\")#score(\"$(realpath --relative-to=models "$prior")\")#" "$model" > "$copy"
trap 'rm -f "$copy"' EXIT
cp "$copy" "$out/model.uq"
for r in "${runs[@]}"; do
  "$uq" sample "$copy" --quiet --data "y=$data/${r}_kspace.npy" --out "$out/$r" >/dev/null
  line=$("$evaluate" "$out/$r/x" "$data/${r}_truth.npy" "$data/${r}_zero_filled.npy" | tr '\n' ' ')
  echo "$r $line" | tee -a "$out/results.txt"
done
