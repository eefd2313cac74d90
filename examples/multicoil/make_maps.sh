#!/bin/sh
# Coil maps of the multi-coil examples: BART's simulated 8-channel sensitivities (Debian `bart`
# 0.8), normalised pixelwise so that Σ_c |S_c|² = 1 (as ESPIRiT maps are), written as
# examples/data/multicoil/smaps8.npy [8, 64, 64] complex64. Run from the repository root.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bart phantom -S 8 -x 64 "$tmp/maps"
mkdir -p examples/data/multicoil
python3 - "$tmp/maps" <<'PY'
import sys
import numpy as np
name = sys.argv[1]
dims = [int(d) for d in open(name + ".hdr").read().split("\n")[1].split()]
a = np.fromfile(name + ".cfl", np.complex64).reshape(dims[::-1])  # C order of the reversed dims
a = a.reshape(8, 64, 64).transpose(0, 2, 1).astype(np.complex64)  # [coil, x, y] = [c, h, w]
a /= np.sqrt((np.abs(a) ** 2).sum(axis=0, keepdims=True))
np.save("examples/data/multicoil/smaps8.npy", a)
PY
echo "wrote examples/data/multicoil/smaps8.npy"
