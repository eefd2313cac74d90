#!/usr/bin/env bash
# SUPN against a diagonal precision (docs/supn.md): denoising and single-coil radial MRI on the data of
# examples/supn/simulate.py, by the talk's method (MAP of z, then exact draws of x | ẑ, y) or by Gibbs
# sampling. Usage, from the repository root:
#   examples/supn/run.sh PRIOR.safetensors TAG [SAMPLER [PROBLEM ...]]
# SAMPLER: supn_map (default; DRAWS exact draws given ẑ, 32) or supn_gibbs; FLAGS: `uq sample` flags
# (for supn_map "--steps 60": MAP iterations);
# LATENT: the prior's latent size (64); PROBLEM: CASE/dnSD (denoising) or CASE/rSPOKES_SD (radial),
# e.g. head_8/dn0.1 brain_3/r16_0.0125; default: every case of simulate.py at every setting.
# Results: uq-out/supn/TAG/{CASE}_{SETTING}/ and one line per run in uq-out/supn/TAG/results.txt
# (examples/evaluate's JSON: the posterior mean's PSNR, the baseline's (the noisy image, or the
# gridding reconstruction), 90% coverage inside the head).
set -euo pipefail
cd "$(dirname "$0")/../.."
prior=$(realpath "$1") tag=$2
sampler=${3:-supn_map}
shift $(( $# < 3 ? $# : 3 ))
uq=${UQ:-target/release/uq}
evaluate=${EVALUATE:-target/release/examples/evaluate}
data=$(realpath uq-out/supn/data)
out=uq-out/supn/$tag
mkdir -p "$out"
latent=${LATENT:-64}   # the prior's latent size M
if [ "$sampler" = supn_map ]; then
  flags="--chains 1 --draws ${DRAWS:-32} ${FLAGS:---steps 60}"
else
  flags=${FLAGS:-}
fi
problems=("$@")
if [ ${#problems[@]} -eq 0 ]; then
  for c in head_3 head_8 head_13 brain_3 brain_8 brain_13 head2_35 head2_45 head2_55; do
    for s in dn0.05 dn0.1 r8_0.0125 r16_0.0125 r32_0.0125 r64_0.0125 r8_0.05 r16_0.05 r32_0.05 r64_0.05; do
      problems+=("$c/$s")
    done
  done
fi
for p in "${problems[@]}"; do
  case=${p%/*} setting=${p#*/}
  run=$out/${case}_$setting
  if [[ $setting == dn* ]]; then
    sd=${setting#dn}
    y=$data/${case}_${setting}_y.npy base=$y
    printf 'data y : real[64, 64] = "%s"\nprior z : real[%s] ~ Normal(0, 1)\nprior x ~ supn("%s", z)\ny ~ Normal(x, %s)\n' \
      "$y" "$latent" "$prior" "$sd" > "$out/.model.uq"
  else
    spokes=${setting%_*} spokes=${spokes#r} sd=${setting#*_}
    y=$data/${case}_${setting}_y.npy base=$data/${case}_${setting}_grid.npy m=$((spokes * 128))
    printf 'data y : complex[%s] = "%s"\ndata traj : real[%s, 2] = "%s"\nprior z : real[%s] ~ Normal(0, 1)\nprior x ~ supn("%s", z)\ny ~ Normal(nufft(x, traj), %s)\n' \
      "$m" "$y" "$m" "$data/traj_$spokes.npy" "$latent" "$prior" "$sd" > "$out/.model.uq"
  fi
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$uq" sample "$out/.model.uq" --quiet --sampler "$sampler" $flags --out "$run" >/dev/null
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  line=$("$evaluate" "$run/x" "$data/${case}_truth.npy" "$base" | tr '\n' ' ')
  echo "$case $setting wall=${wall%???????} $line" | tee -a "$out/results.txt"
done
