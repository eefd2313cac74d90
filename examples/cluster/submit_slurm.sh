#!/usr/bin/env bash
# Queue the 8 shards of the MRI example as a SLURM job array and the merge after all of them:
#   OUT=uq-shards UQ=target/release/uq examples/cluster/submit_slurm.sh
# SCRIPT=slurm_stack.sh queues the 16-slice stack split over 4 tasks instead (merged the same way).
# SBATCH=… replaces sbatch (local_slurm.sh uses this to run the same script without a scheduler).
set -euo pipefail
here=$(dirname "$0")
UQ=${UQ:-uq}
OUT=${OUT:-uq-shards}
SBATCH=${SBATCH:-sbatch}
SCRIPT=${SCRIPT:-slurm_shards.sh}
export UQ OUT
jid=$($SBATCH --parsable --export=ALL "$here/$SCRIPT")
# afterany, not afterok: a failed shard leaves a partial merge (marked in summary.json) rather than none.
$SBATCH --dependency="afterany:$jid" --job-name=uq-mri-merge --output="$OUT/merge.log" \
    --wrap="$UQ merge $OUT/merged $OUT/shard_*"
