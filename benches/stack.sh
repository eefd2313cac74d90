#!/usr/bin/env bash
# A 16-slice `--over` stack (the network batched across slices) against 16 separate `uq sample`
# runs of the same slices, in one command, alternating the two (round-robin) so that the machine's
# load falls on both alike. Checks every slice's draws are byte-identical between the two.
#   UQ=target/release/uq ROUNDS=2 benches/stack.sh [extra uq flags…]
# Run from the uq project folder. Prints the wall times and their ratio.
source "$(dirname "$0")/common.sh"
REPS=${REPS:-1}
STACK=examples/data/mri_test_kspace.npy
# The 16 slices as their own .npy files (complex128 [64, 64]), with no numpy needed.
python3 - "$STACK" "$work" <<'PY'
import ast, struct, sys
src, out = sys.argv[1], sys.argv[2]
raw = open(src, 'rb').read()
hlen = struct.unpack('<H', raw[8:10])[0] if raw[6] == 1 else struct.unpack('<I', raw[8:12])[0]
start = (10 if raw[6] == 1 else 12) + hlen
head = ast.literal_eval(raw[start - hlen:start].decode('latin1'))
n, *rest = head['shape']
size = len(raw[start:]) // n
for i in range(n):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (head['descr'], tuple(rest))
    h += ' ' * ((64 - (10 + len(h) + 1) % 64) % 64) + '\n'
    with open(f'{out}/slice_{i:02d}.npy', 'wb') as f:
        f.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h.encode('latin1'))
        f.write(raw[start + i * size:start + (i + 1) * size])
PY
for rep in $(seq "$REPS"); do
    t0=$(now)
    "$UQ" sample models/mri.uq --quiet --data y="$STACK" --over y \
        --truth examples/data/mri_test_truth.npy --out "$work/stack" "$@" >/dev/null
    t1=$(now)
    for i in $(seq 0 15); do
        f=$(printf '%02d' "$i")
        "$UQ" sample models/mri.uq --quiet --data y="$work/slice_$f.npy" --out "$work/alone_$f" "$@" >/dev/null
    done
    t2=$(now)
    for i in $(seq 0 15); do
        cmp -s "$work/stack/slice_$(printf '%03d' "$i")/x/samples.npy" "$work/alone_$(printf '%02d' "$i")/x/samples.npy" ||
            { echo "slice $i: the stack's draws differ from its separate run" >&2; exit 1; }
    done
    awk -v a="$t0" -v b="$t1" -v c="$t2" -v r="$rep" -v l="$(cut -d' ' -f1-3 /proc/loadavg)" \
        'BEGIN { printf "rep %d: stack %.1f s, 16 separate runs %.1f s, ratio stack/separate %.3f (load %s); draws identical\n", r, b - a, c - b, (b - a) / (c - b), l }'
done
python3 -c 'import json, sys; t = json.load(open(sys.argv[1])); p = [r["psnr"] for r in t["rows"]]
print("PSNR per slice (dB):", " ".join(f"{x:.2f}" for x in p), f"| mean {sum(p) / len(p):.2f}")' "$work/stack/stack.json"
