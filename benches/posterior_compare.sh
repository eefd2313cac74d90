#!/usr/bin/env bash
# Log-posterior gradient evaluations per second of benches/models/*.uq: uq (`uq bench posterior`),
# optionally a baseline uq binary (BASE=path, e.g. one built from an older commit), and JAX
# (benches/jax_posterior.py), at 1 and 4 chains, round-robin ROUNDS times so machine load hits all
# alike; JSON lines to OUT, then the medians over rounds as a markdown table.
# Usage: PYTHON=/tmp/jaxvenv/bin/python [BASE=/tmp/uq-base] benches/posterior_compare.sh [ROUNDS] [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
out=${2:-target/posterior-compare.jsonl}
python=${PYTHON:-python3}
uq=${UQ:-target/release/uq}
: > "$out"
for r in $(seq "$rounds"); do
  for m in deblur32 blur64 sense8; do
    for c in 1 4; do
      "$uq" bench posterior "benches/models/$m.uq" --chains "$c" --rounds 5 --calls 100 \
        | sed "s/^{/{\"tool\":\"uq\",/" >> "$out"
      if [ -n "${BASE:-}" ]; then
        "$BASE" bench posterior "benches/models/$m.uq" --chains "$c" --rounds 5 --calls 100 \
          | sed "s/^{/{\"tool\":\"uq-base\",/" >> "$out"
      fi
      "$python" benches/jax_posterior.py --model "$m" --chains "$c" --rounds 5 --calls 100 >> "$out"
    done
  done
  echo "round $r done" >&2
done
python3 - "$out" <<'PY'
import json, statistics, sys, collections
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cells = collections.defaultdict(list)
for r in rows:
    model = r["model"].split("/")[-1].removesuffix(".uq")
    tool = "jax" if r["tool"].startswith("jax") else r["tool"]
    cells[(model, r["chains"], tool)].append(r["grad_evals_per_s"])
tools = sorted({k[2] for k in cells})
print("| model | chains | " + " | ".join(f"{t} grad/s" for t in tools) + " | uq / jax |")
print("|---|---|" + "---|" * (len(tools) + 1))
for model in ["deblur32", "blur64", "sense8"]:
    for c in [1, 4]:
        med = {t: statistics.median(cells[(model, c, t)]) for t in tools if cells[(model, c, t)]}
        ratio = med.get("uq", float("nan")) / med.get("jax", float("nan"))
        print(f"| {model} | {c} | " + " | ".join(f"{med.get(t, float('nan')):,.0f}" for t in tools) + f" | {ratio:.2f} |")
PY
