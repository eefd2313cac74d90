#!/usr/bin/env bash
# Stand-in for sbatch, to check submit_slurm.sh where there is no scheduler: an array job runs its
# tasks one after another with SLURM_ARRAY_TASK_ID set (0…7, from the script's #SBATCH --array),
# a --wrap job runs its command. Usage: SBATCH=examples/cluster/local_slurm.sh examples/cluster/submit_slurm.sh
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
for i in $(seq "${array%-*}" "${array#*-}"); do
    SLURM_ARRAY_TASK_ID=$i bash "$script" >&2
done
echo "local-$$"   # the job id `sbatch --parsable` prints
