#!/usr/bin/env bash
# Stand-in for sbatch, to check submit_slurm.sh where there is no scheduler: an array job runs its
# tasks one after another with SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT set (0…7 and 8, from
# the script's #SBATCH --array), a --wrap job runs its command. Usage: SBATCH=examples/cluster/local_slurm.sh examples/cluster/submit_slurm.sh
set -euo pipefail
wrap="" script="" array=""
for a in "$@"; do
    case "$a" in
        --wrap=*) wrap=${a#--wrap=} ;;
        --array=*) array=${a#--array=} ;;
        --*) ;;
        *) script=$a ;;
    esac
done
if [ -n "$wrap" ]; then
    bash -c "$wrap"
    exit
fi
[ -n "$array" ] || array=$(sed -n 's/^#SBATCH --array=//p' "$script")
first=${array%-*} last=${array#*-}
for i in $(seq "$first" "$last"); do
    SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=$((last - first + 1)) bash "$script" >&2
done
echo "local-$$"   # the job id `sbatch --parsable` prints
