#!/usr/bin/env bash
# `uq calibrate` on the MRI example with its repetitions batched through the network (--batch-reps
# BATCH, default the command's own default) against one after another (--batch-reps 1), in one
# command: wall times, their ratio, the peak memory of each, and a check that every output but the
# wall times and the command line is byte-identical. Truths: the 16 held-out test slices.
#   UQ=target/release/uq REPS=8 BATCH=8 benches/calibrate_batch.sh [extra uq flags…]
# Run from the uq project folder, on a quiet machine (the load is printed with the figures).
source "$(dirname "$0")/common.sh"
REPS=${REPS:-8}
TRUTHS=examples/data/mri_test_truth.npy
batch=()
if [ -n "${BATCH:-}" ]; then batch=(--batch-reps "$BATCH"); fi
run() { # run NAME FLAGS…: time one calibration, its peak RSS into $work/NAME.rss
    local name=$1
    shift
    /usr/bin/time -f '%M' -o "$work/$name.rss" "$UQ" calibrate models/mri.uq --quiet --truths "$TRUTHS" \
        --reps "$REPS" --rounds 2 --out "$work/$name" "$@" >/dev/null
}
load0=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(now)
run batched "${batch[@]}" "$@"
t1=$(now)
run alone --batch-reps 1 "$@"
t2=$(now)
for f in ranks.npy truths.npy post_mean.npy post_sd.npy; do
    cmp -s "$work/batched/$f" "$work/alone/$f" || { echo "$f differs between batched and --batch-reps 1" >&2; exit 1; }
done
python3 - "$work/batched/calibration.json" "$work/alone/calibration.json" <<'PY'
import json, sys
def comparable(p):
    v = json.load(open(p))
    v.pop("command")
    for r in v["runs"]:
        r.pop("wall_seconds")
    return v
a, b = (comparable(p) for p in sys.argv[1:3])
if a != b:
    sys.exit("calibration.json differs between batched and --batch-reps 1 (beyond wall times)")
PY
awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$REPS" -v l0="$load0" -v l1="$(cut -d' ' -f1-3 /proc/loadavg)" \
    -v ma="$(cat "$work/batched.rss")" -v mb="$(cat "$work/alone.rss")" -v bs="${BATCH:-default}" \
    'BEGIN { printf "%d repetitions: batched (--batch-reps %s) %.1f s, peak %.2f GB; one after another %.1f s, peak %.2f GB; ratio batched/sequential %.3f (load before %s, after %s); outputs identical\n", n, bs, b - a, ma / 1048576, c - b, mb / 1048576, (b - a) / (c - b), l0, l1 }'
