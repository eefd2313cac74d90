#!/usr/bin/env bash
# One shard of the MRI example per SLURM array task: task i runs chains i×CHAINS … i×CHAINS+CHAINS−1
# (`--shard-from-env` reads SLURM_ARRAY_TASK_ID). Submit with submit_slurm.sh, which also queues
# the merge. Run from the uq project folder (models/mri.uq reads ../examples/data/).
#SBATCH --job-name=uq-mri-shard
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --time=00:30:00
#SBATCH --output=uq-shards/%x-%a.log
set -euo pipefail
UQ=${UQ:-uq}                # the uq binary (e.g. target/release/uq)
OUT=${OUT:-uq-shards}       # one folder per shard: $OUT/shard_<i>
CHAINS=${CHAINS:-1}         # chains per shard (each anneals --rounds times)
SEED=${SEED:-1}             # every shard must use the same seed
: "${SLURM_ARRAY_TASK_ID:?run this as a SLURM array task (sbatch --array=0-7 slurm_shards.sh)}"
mkdir -p "$OUT"
# shellcheck disable=SC2086  # UQ_ARGS holds extra flags, split on purpose
"$UQ" sample models/mri.uq --quiet --seed "$SEED" --chains "$CHAINS" --shard-from-env \
    --out "$OUT/shard_${SLURM_ARRAY_TASK_ID}" ${UQ_ARGS:-}
