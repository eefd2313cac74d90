"""The 32 held-out MRI truths of docs/calibrate.md: the 16 own-head test slices, then 16 slices of a
second person no shipped prior was trained on (every 2.5th of slices 20-60 of mri_head2_64.npy).

    python3 examples/calibrate/truths32.py ../shared/data OUT.npy
"""
import sys

import numpy as np

shared, out = sys.argv[1], sys.argv[2]
own = np.load(f"{shared}/mri_head_test_64.npy").astype(np.float64)
other = np.load(f"{shared}/mri_head2_64.npy").astype(np.float64)
pick = np.linspace(20, 60, 16).round().astype(int)
truths = np.concatenate([own, other[pick]])
assert truths.shape == (32, 64, 64), truths.shape
np.save(out, truths)
print(f"{out}: own head 0-15, head2 slices {pick.tolist()} as 16-31")
