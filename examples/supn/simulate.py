"""Simulates the SUPN comparison data (docs/supn.md, "SUPN against a diagonal precision") into
uq-out/supn/data/: for each test slice of examples/data/generalise (own head, skull-stripped, second
person), a denoising problem and single-coil radial MRI at several spoke counts and two noise levels.

- denoising: y = x + σ ε, σ in DENOISE (real image, white noise);
- radial: golden-angle spokes of 128 samples (2× oversampled readout), y = N x + σ (ε₁ + i ε₂) with
  uq's orthonormal type-2 NUDFT N (exact sums here), σ per real/imaginary part in NOISE; also the
  gridding reconstruction (adjoint of ramp-weighted samples), the reference "adjoint" column.

Run from the repository root (python3 with numpy), after examples/generalise/simulate.py has written
its truths: python3 examples/supn/simulate.py. Seeded: rewritten bit for bit. One setting (slice 8 of
the own-head test set, which is examples/data/truth.npy; 16 spokes, σ 0.0125) is also written to the
committed examples/data/supn/ for models/mri_supn_radial.uq.
"""
import os

import numpy as np

SRC = "examples/data/generalise"
OUT = "uq-out/supn/data"
SHIPPED = "examples/data/supn"
CASES = ["head_3", "head_8", "head_13", "brain_3", "brain_8", "brain_13", "head2_35", "head2_45", "head2_55"]
DENOISE = [0.05, 0.1]
SPOKES = [8, 16, 32, 64]
NOISE = [0.0125, 0.05]
READOUT = 128


def golden_radial(spokes, readout):
    """[spokes*readout, 2] radians, spoke s at s·111.246°, samples −π + 2πj/readout (as
    examples/multicoil/simulate.py and `uq traj radial --golden`)."""
    angle = np.deg2rad(180.0 * (np.sqrt(5) - 1) / 2)
    r = -np.pi + 2 * np.pi * np.arange(readout) / readout
    th = angle * np.arange(spokes)
    return np.stack([np.outer(np.cos(th), r).ravel(), np.outer(np.sin(th), r).ravel()], axis=1)


def matrices(traj, h, w):
    ep = np.exp(-1j * np.outer(traj[:, 0], np.arange(h)))
    eq = np.exp(-1j * np.outer(traj[:, 1], np.arange(w)))
    return ep, eq


def nudft(x, traj):
    h, w = x.shape
    ep, eq = matrices(traj, h, w)
    return np.einsum("mp,pq,mq->m", ep, x, eq) / np.sqrt(h * w)


def gridding(y, traj, spokes, h, w):
    """Adjoint of ramp-weighted samples: each sample stands for the k-space area dk·|k|·π/S (at
    least a quarter cell at the centre), in units of a Cartesian cell (2π)²/(HW)."""
    dk = 2 * np.pi / READOUT
    k = np.hypot(traj[:, 0], traj[:, 1])
    area = dk * np.maximum(k, dk / 4) * np.pi / spokes
    wgt = area / ((2 * np.pi) ** 2 / (h * w))
    ep, eq = matrices(traj, h, w)
    return np.real(np.einsum("mp,m,mq->pq", ep.conj(), wgt * y, eq.conj())) / np.sqrt(h * w)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261203)
    for s in SPOKES:
        np.save(f"{OUT}/traj_{s}.npy", golden_radial(s, READOUT))
    for case in CASES:
        x = np.load(f"{SRC}/{case}_truth.npy").astype(np.float64)
        np.save(f"{OUT}/{case}_truth.npy", x)
        for sd in DENOISE:
            y = x + sd * rng.standard_normal(x.shape)
            np.save(f"{OUT}/{case}_dn{sd}_y.npy", y)
        for s in SPOKES:
            traj = golden_radial(s, READOUT)
            clean = nudft(x, traj)
            for sd in NOISE:
                y = clean + sd * (rng.standard_normal(clean.shape) + 1j * rng.standard_normal(clean.shape))
                np.save(f"{OUT}/{case}_r{s}_{sd}_y.npy", y.astype(np.complex64))
                np.save(f"{OUT}/{case}_r{s}_{sd}_grid.npy", gridding(y, traj, s, *x.shape))
    os.makedirs(SHIPPED, exist_ok=True)
    np.save(f"{SHIPPED}/traj_radial16.npy", golden_radial(16, READOUT))
    for kind in ("y", "grid"):
        np.save(f"{SHIPPED}/radial16_{kind}.npy", np.load(f"{OUT}/head_8_r16_0.0125_{kind}.npy"))
    print(f"wrote {OUT}: {len(CASES)} slices, denoising σ {DENOISE}, radial spokes {SPOKES} × σ {NOISE}")


if __name__ == "__main__":
    main()
