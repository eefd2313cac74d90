"""Simulates the prior-generalisation test data (examples/data/generalise/): single-coil 4× Cartesian
k-space (the mask of examples/data/mri_mask.npy), σ 0.02 per real/imaginary part, for three sets:

- `head`:  held-out middle slices of the Colin27 head (`mri_head_test_64.npy`): the own-head figure;
- `head2`: slices of a second person (`mri_head2_64.npy`) that no shipped prior was trained on;
- `brain`: skull-stripped Colin27 slices of the same positions as `head` (`brain_test_64.npy` from
  models/prepare_data.py), which the shipped priors' training never contains.

Run from the repository root (python3 with numpy), after `python3 models/prepare_data.py`:
    python3 examples/generalise/simulate.py [SHARED_DATA_DIR]
Seeded: the files are rewritten bit for bit. Per set the first slice listed in TUNE tunes the TV
baseline's λ and is never scored.
"""
import os
import sys

import numpy as np

OUT = "examples/data/generalise"
SIGMA = 0.02
SETS = {
    # set: (source file, scored slices, tuning slice)
    "head": ("{shared}/mri_head_test_64.npy", [3, 8, 13], 0),
    "head2": ("{shared}/mri_head2_64.npy", [35, 45, 55], 25),
    "brain": ("target/prior-data/brain_test_64.npy", [3, 8, 13], 0),
}


def main(shared):
    os.makedirs(OUT, exist_ok=True)
    mask = np.load("examples/data/mri_mask.npy")
    rng = np.random.default_rng(20261202)
    for name, (src, scored, tune) in SETS.items():
        x = np.load(src.format(shared=shared)).astype(np.float64)
        for s in [tune] + scored:
            truth = x[s]
            n = SIGMA * (rng.standard_normal(truth.shape) + 1j * rng.standard_normal(truth.shape))
            y = mask * (np.fft.fft2(truth, norm="ortho") + n)
            np.save(f"{OUT}/{name}_{s}_truth.npy", truth)
            np.save(f"{OUT}/{name}_{s}_kspace.npy", y)
            np.save(f"{OUT}/{name}_{s}_zero_filled.npy", np.fft.ifft2(y, norm="ortho").real)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
