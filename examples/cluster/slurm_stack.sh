#!/usr/bin/env bash
# The 16 held-out MRI slices (examples/data/mri_test_kspace.npy) as a stack split over a SLURM job
# array: task i of N runs the contiguous block of slices ⌊i·16/N⌋ … ⌊(i+1)·16/N⌋ − 1
# (`--over y --shard-from-env`, N from SLURM_ARRAY_TASK_COUNT). Submit with
# SCRIPT=slurm_stack.sh submit_slurm.sh, which also queues `uq merge` of the parts into one stack
# folder. Run from the uq project folder (models/mri.uq reads ../examples/data/).
#SBATCH --job-name=uq-mri-stack
#SBATCH --array=0-3
#SBATCH --cpus-per-task=2
#SBATCH --time=01:00:00
#SBATCH --output=uq-shards/%x-%a.log
set -euo pipefail
UQ=${UQ:-uq}                # the uq binary (e.g. target/release/uq)
OUT=${OUT:-uq-shards}       # one stack part per task: $OUT/shard_<i>
SEED=${SEED:-1}             # every task must use the same seed
: "${SLURM_ARRAY_TASK_ID:?run this as a SLURM array task (sbatch --array=0-3 slurm_stack.sh)}"
mkdir -p "$OUT"
# shellcheck disable=SC2086  # UQ_ARGS holds extra flags, split on purpose
"$UQ" sample models/mri.uq --quiet --seed "$SEED" --shard-from-env \
    --data y=examples/data/mri_test_kspace.npy --over y --truth examples/data/mri_test_truth.npy \
    --out "$OUT/shard_${SLURM_ARRAY_TASK_ID}" ${UQ_ARGS:-}
