#!/usr/bin/env bash
# Cost of a SENSE log-posterior gradient (Gaussian prior, so the graph alone) against image size
# (32, 64, 128, 256) and coil count (1, 8): writes a model and random data per cell into a scratch
# folder, runs `uq bench posterior` on each, and prints a markdown table with µs per gradient, ns per
# pixel·coil and the peak memory. Usage: [UQ=target/release/uq] [PYTHON=python3] benches/scaling.sh
set -euo pipefail
cd "$(dirname "$0")/.."
uq=${UQ:-target/release/uq}
python=${PYTHON:-python3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
out="$dir/results.jsonl"
for n in 32 64 128 256; do
  for c in 1 8; do
    "$python" - "$dir" "$n" "$c" <<'PY'
import sys, numpy as np
d, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(n * 10 + c)
s = rng.standard_normal((c, n, n)) + 1j * rng.standard_normal((c, n, n))
s /= np.sqrt((np.abs(s) ** 2).sum(0, keepdims=True))
mask = (rng.random((n, n)) < 0.3).astype(float)
y = mask * (rng.standard_normal((c, n, n)) + 1j * rng.standard_normal((c, n, n)))
np.save(f"{d}/smaps_{n}_{c}.npy", s)
np.save(f"{d}/mask_{n}.npy", mask)
np.save(f"{d}/y_{n}_{c}.npy", y)
open(f"{d}/m_{n}_{c}.uq", "w").write(f"""import sense
data y : complex[{c}, {n}, {n}] = "y_{n}_{c}.npy"
data smaps : complex[{c}, {n}, {n}] = "smaps_{n}_{c}.npy"
data mask : real[{n}, {n}] = "mask_{n}.npy"
prior x : real[{n}, {n}] ~ Normal(0.5, 0.5)
y ~ Normal(sense(x, smaps, mask), 0.02)
""")
PY
    calls=$(( 2000000 / (n * n * c) + 5 ))
    "$uq" bench posterior "$dir/m_${n}_${c}.uq" --rounds 7 --calls "$calls" \
      | sed "s/^{/{\"size\":$n,\"coils\":$c,/" >> "$out"
  done
done
"$python" - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| size | coils | µs per gradient | ns per pixel·coil | peak memory (MB) |")
print("|---|---|---|---|---|")
for r in rows:
    pc = r["size"] ** 2 * r["coils"]
    mem = r["peak_memory_bytes"] / 1e6 if r["peak_memory_bytes"] else float("nan")
    print(f"| {r['size']}×{r['size']} | {r['coils']} | {r['us_per_call']:,.0f} | {1e3 * r['us_per_call'] / pc:.1f} | {mem:.0f} |")
PY
