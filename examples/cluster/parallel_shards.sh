#!/usr/bin/env bash
# The MRI example as 8 shards run by GNU parallel (JOBS at a time, on this machine or with
# parallel's --sshlogin on several), then merged:
#   UQ=target/release/uq OUT=uq-shards JOBS=2 examples/cluster/parallel_shards.sh
# Run from the uq project folder. Extra flags for every shard in UQ_ARGS.
set -euo pipefail
UQ=${UQ:-uq}
OUT=${OUT:-uq-shards}
SHARDS=${SHARDS:-8}
CHAINS=${CHAINS:-1}
SEED=${SEED:-1}
JOBS=${JOBS:-2}
mkdir -p "$OUT"
# Shard i runs chains i×CHAINS … (i+1)×CHAINS−1: one line "i offset" per shard.
# shellcheck disable=SC2086  # UQ_ARGS holds extra flags, split on purpose
for i in $(seq 0 $((SHARDS - 1))); do echo "$i $((i * CHAINS))"; done |
    parallel -j "$JOBS" --colsep ' ' --halt soon,fail=1 \
        "$UQ" sample models/mri.uq --quiet --seed "$SEED" --chains "$CHAINS" \
        --chain-offset {2} --out "$OUT/shard_{1}" ${UQ_ARGS:-}
"$UQ" merge "$OUT/merged" "$OUT"/shard_*
