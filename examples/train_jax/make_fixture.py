#!/usr/bin/env python3
"""Fixtures for `tests/shipped_prior.rs`: JAX's scores of the JAX-trained `models/mri64_ve2.safetensors`.

Two held-out head slices plus noise (sd 0.1, seed 0) → tests/fixtures/jax_prior/x.npy [2, 64, 64];
the score at σ = 0.1 and σ = 2 by `unet.py` on the CPU in f32 → score_0.1.npy, score_2.npy. The test
loads the same file with uq and needs no Python. Run from the repository root with JAX installed:
  JAX_PLATFORMS=cpu python3 examples/train_jax/make_fixture.py
"""

import os
import sys

import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet import load_safetensors, score  # noqa: E402

out = "tests/fixtures/jax_prior"
params, meta = load_safetensors("models/mri64_ve2.safetensors")
p = {k: jnp.asarray(v) for k, v in params.items()}
channels = [int(c) for c in meta["channels"].split(",")]
clean = np.load("tests/fixtures/mri/mri_head_test_64.npy")[[0, 8]].astype(np.float32)
x = clean + 0.1 * np.random.default_rng(0).standard_normal(clean.shape).astype(np.float32)
os.makedirs(out, exist_ok=True)
np.save(f"{out}/x.npy", x)
for s in (0.1, 2.0):
    y = score(p, channels, jnp.asarray(x[:, None]), jnp.full((2,), s, jnp.float32))
    np.save(f"{out}/score_{s:g}.npy", np.asarray(y)[:, 0])
print("wrote", sorted(os.listdir(out)))
