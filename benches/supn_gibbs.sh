#!/usr/bin/env bash
# SUPN inference on models/mri_supn.uq (64×64 4× Cartesian MRI, the shipped SUPN prior):
# the cost of one NUTS gradient on (x, z) and of one Gibbs sweep (same binary, same command), a short
# Gibbs run and a MAP run, and the PSNR of their posterior means against the zero-filled image.
# Usage: [UQ=target/release/uq] [EVALUATE=target/release/examples/evaluate] [OUT=dir] \
#        [GIBBS="--chains 2 --warmup 10 --draws 20"] [MAP="--steps 50 --draws 20"] benches/supn_gibbs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
uq=${UQ:-target/release/uq}
evaluate=${EVALUATE:-target/release/examples/evaluate}
out=${OUT:-$(mktemp -d)}
gibbs=${GIBBS:-"--chains 2 --warmup 10 --draws 20"}
map=${MAP:-"--steps 50 --draws 20"}
mkdir -p "$out"
# NUTS's gradient: static HMC, 2 leapfrog steps, no warm-up (the gradient costs the same as in NUTS).
"$uq" sample models/mri_supn.uq --sampler hmc --steps 2 --step-size 0.001 --warmup 0 --draws 3 \
  --chains 1 --out "$out/nuts" --quiet
# shellcheck disable=SC2086
"$uq" sample models/mri_supn.uq $gibbs --out "$out/gibbs" --quiet
# shellcheck disable=SC2086
"$uq" sample models/mri_supn.uq --sampler supn-map --chains 1 $map --out "$out/map" --quiet
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
s = {k: json.load(open(f"{out}/{k}/summary.json")) for k in ("nuts", "gibbs", "map")}
grad = s["nuts"]["wall_seconds"] / max(s["nuts"]["grad_evals"], 1)
g = s["gibbs"]["extra"]
print(f"NUTS: {s['nuts']['grad_evals']} gradients, {grad:.3f} s each")
print(f"Gibbs: {g['seconds_per_sweep']:.3f} s per sweep ({g['seconds_per_sweep'] / grad:.2f} NUTS gradients), "
      f"z-steps {g['z_steps']}, z acceptance {s['gibbs']['acceptance_rate']}, step {s['gibbs']['step_size']}, "
      f"CG {g['cg']['mean_iterations']:.1f} iterations per solve (max {g['cg']['max_iterations']}), "
      f"{g['cg']['not_converged']} of {g['cg']['solves']} not converged, worst residual {g['cg']['max_rel_residual']:.2e}; "
      f"wall {s['gibbs']['wall_seconds']:.0f} s")
m = s["map"]["extra"]
print(f"MAP: {m['map']['iterations']} iterations, J {m['map']['objective'][0]:.1f} -> {m['map']['objective'][-1]:.1f}, "
      f"converged {m['map']['converged']}, |grad| {m['map']['grad_norm']:.3g}, CG {m['cg']['mean_iterations']:.1f} "
      f"iterations per solve; wall {s['map']['wall_seconds']:.0f} s")
PY
for k in gibbs map; do
  echo "$k:"
  "$evaluate" "$out/$k/x" examples/data/truth.npy examples/data/mri_zero_filled.npy
done
