#!/usr/bin/env bash
# The score network in f32, bf16 on AVX512-BF16 (UQ_AMX=off) and bf16 on AMX tiles, round-robin:
#   benches/amx_compare.sh [ROUNDS] [BATCHES...]   (UQ=path/to/uq, default target/release/uq)
# One JSON line per run (`uq bench score`, [32,64,128], 64×64, one image channel), prefixed by its label.
set -euo pipefail
UQ=${UQ:-target/release/uq}
ROUNDS=${1:-2}
shift || true
BATCHES=${*:-1 8 32}
for r in $(seq "$ROUNDS"); do
  for b in $BATCHES; do
    args=(bench score --channels 32,64,128 --size 64 --batch "$b" --image-channels 1 --no-reference)
    echo "round $r f32 $(UQ_SCORE_PRECISION=f32 "$UQ" "${args[@]}" | tail -1)"
    echo "round $r bf16-avx512 $(UQ_AMX=off "$UQ" "${args[@]}" --bf16 | tail -1)"
    echo "round $r bf16-amx $("$UQ" "${args[@]}" --bf16 | tail -1)"
  done
done
