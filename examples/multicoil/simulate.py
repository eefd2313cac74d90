"""Simulates the multi-coil example data (examples/data/multicoil/) from held-out MRI slices.

Run from the repository root (python3 with numpy; BART only for make_maps.sh):
    python3 examples/multicoil/simulate.py ../shared/data/mri_head_test_64.npy
Seeded: the files are rewritten bit for bit. See examples/data/README.md for what each file is.
"""
import os
import sys

import numpy as np

OUT = "examples/data/multicoil"
SLICES = [3, 8, 13]  # held-out slices the examples are scored on
TUNE = 0  # held-out slice on which BART's λ is tuned (never scored)
SIGMA = 0.02  # noise sd per coil, per real/imaginary part
SPOKES, READOUT = 32, 128  # radial: golden-angle spokes, samples per spoke (2× oversampled)


def fft2(x):
    return np.fft.fft2(x, norm="ortho")


def cartesian_mask(n, accel, centre_frac, rng):
    """Phase-encode columns (last axis), fully sampled centre, exactly n/accel columns, unshifted."""
    total = n // accel
    centre = max(2, int(round(n * centre_frac)))
    k = (np.arange(n) + n // 2) % n - n // 2  # signed frequency of each unshifted column
    order = np.argsort(np.abs(k), kind="stable")
    cols = set(order[:centre].tolist())
    rest = [c for c in range(n) if c not in cols]
    cols |= set(rng.choice(rest, size=total - centre, replace=False).tolist())
    m = np.zeros((n, n))
    m[:, sorted(cols)] = 1.0
    return m


def golden_radial(spokes, readout):
    """[spokes*readout, 2] radians: spoke s at angle s·111.246° (golden angle), points
    −π + 2π j/readout along it, j = 0 … readout−1 (so the DC sample is at j = readout/2)."""
    angle = np.deg2rad(180.0 * (np.sqrt(5) - 1) / 2)  # 111.246°
    r = -np.pi + 2 * np.pi * np.arange(readout) / readout
    th = angle * np.arange(spokes)
    return np.stack([np.outer(np.cos(th), r).ravel(), np.outer(np.sin(th), r).ravel()], axis=1)


def nudft(x, traj):
    """Exact type-2 NUDFT in uq's convention: (HW)^(-1/2) Σ x[p,q] exp(−i(ω0 p + ω1 q))."""
    h, w = x.shape[-2:]
    ep = np.exp(-1j * np.outer(traj[:, 0], np.arange(h)))  # [M, H]
    eq = np.exp(-1j * np.outer(traj[:, 1], np.arange(w)))  # [M, W]
    return np.einsum("mp,...pq,mq->...m", ep, x, eq) / np.sqrt(h * w)


def noise(rng, shape):
    return SIGMA * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))


def main(test_path):
    os.makedirs(OUT, exist_ok=True)
    slices = np.load(test_path).astype(np.float64)
    smaps = np.load(f"{OUT}/smaps8.npy")
    rng = np.random.default_rng(20261201)
    masks = {4: cartesian_mask(64, 4, 0.08, rng), 8: cartesian_mask(64, 8, 0.04, rng)}
    traj = golden_radial(SPOKES, READOUT)
    for a, m in masks.items():
        np.save(f"{OUT}/mask{a}.npy", m)
    np.save(f"{OUT}/traj_radial32.npy", traj)
    for s in [TUNE] + SLICES:
        x = slices[s]
        np.save(f"{OUT}/truth_{s}.npy", x)
        coil = smaps * x  # [8, 64, 64]
        full = fft2(coil)
        for a, m in masks.items():
            y = m * (full + noise(rng, full.shape))
            np.save(f"{OUT}/kspace{a}_{s}.npy", y.astype(np.complex64))
        yr = nudft(coil, traj) + noise(rng, (coil.shape[0], traj.shape[0]))
        np.save(f"{OUT}/radial32_{s}.npy", yr.astype(np.complex64))
    print(f"wrote {OUT}: slices {[TUNE] + SLICES}, masks 4× ({masks[4].mean():.3f}) "
          f"and 8× ({masks[8].mean():.3f}), radial {SPOKES}×{READOUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/mri_head_test_64.npy")
