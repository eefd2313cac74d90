#!/usr/bin/env python3
"""Training and test sets for the shipped priors, from ../shared/data (numpy only).

`mri_brain_train_64.npy` (Colin27, skull-stripped, volume slices 21..142) contains at indices 55..70 the
skull-stripped versions of the 16 middle slices that `mri_head_test_64.npy` holds out (matched by
correlation ≥ 0.995 inside the brain mask). Training on them would leak the own-head test anatomy, so
they are split off: `brain_train_64.npy` (106 slices) trains, `brain_test_64.npy` (16) tests.
`mri_head2_*` (a second person) is never used for training: it measures generalisation.
Usage: python3 models/prepare_data.py [SHARED_DATA_DIR] [OUT_DIR]
"""
import sys
from pathlib import Path

import numpy as np

src = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
out = Path(sys.argv[2] if len(sys.argv) > 2 else "target/prior-data")
out.mkdir(parents=True, exist_ok=True)
brain = np.load(src / "mri_brain_train_64.npy")
test = np.load(src / "mri_head_test_64.npy")
held = np.arange(55, 71)
# Check the correspondence instead of trusting the indices.
for i, j in enumerate(held):
    m = brain[j] > 0.02
    a, b = test[i] * m, brain[j]
    c = float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))
    assert c > 0.99, f"head test slice {i} vs brain slice {j}: correlation {c:.4f}"
keep = np.setdiff1d(np.arange(len(brain)), held)
np.save(out / "brain_train_64.npy", brain[keep].astype(np.float32))
np.save(out / "brain_test_64.npy", brain[held].astype(np.float32))
print(f"{out}/brain_train_64.npy: {len(keep)} slices; {out}/brain_test_64.npy: {len(held)} slices")
