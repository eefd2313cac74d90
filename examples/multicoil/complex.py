"""Complex multi-coil example: the complex truth of models/mri_complex.uq (held-out slice 8 times a
smooth phase) seen by the 8 coils of the SENSE example, 4× and 8× Cartesian, and its baselines
(and those of the single-coil models/mri_complex.uq).

Run from the repository root (python3 with numpy, `bart` on PATH for the baselines):
    python3 examples/multicoil/complex.py [OUT_DIR]      (baselines; default uq-out/baselines)
Writes examples/data/multicoil/kspace{4,8}_complex_8.npy (seeded: rewritten bit for bit), then the
coil-combined adjoint and BART `pics -l1 -r λ` of each (complex, .npy) in OUT_DIR, with λ tuned on
slice 0 times a smooth phase of the same family (never scored), and prints the PSNR of each.
PSNR as for the complex example: peak |truth|, mean |x − truth|² over the whole image.
"""
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bartio import bart, kspace_to_bart, maps_to_bart, readcfl, writecfl  # noqa: E402
from simulate import OUT as DATA, SIGMA, TUNE  # noqa: E402

LAMBDAS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
ITERS = 100


def smooth_phase(n, rng):
    """The family of `uq train --phase smooth` (models/README.md): θ₀ + A·p/max|p|, p a random
    quadratic in pixel-centre coordinates u, v ∈ (−1, 1), θ₀ ~ U(−π, π), A ~ U(0, π)."""
    c = (np.arange(n) + 0.5) / n * 2 - 1
    v, u = np.meshgrid(c, c, indexing="ij")
    a = rng.standard_normal(5)
    p = a[0] * u + a[1] * v + a[2] * u * u + a[3] * u * v + a[4] * v * v
    return rng.uniform(-np.pi, np.pi) + rng.uniform(0, np.pi) * p / np.abs(p).max()


def psnr(x, truth):
    return 10 * np.log10(np.abs(truth).max() ** 2 / np.mean(np.abs(x - truth) ** 2))


def simulate(z, smaps, mask, rng):
    full = np.fft.fft2(smaps * z, norm="ortho")
    n = SIGMA * (rng.standard_normal(full.shape) + 1j * rng.standard_normal(full.shape))
    return mask * (full + n)


def pics(y, smaps, lam):
    with tempfile.TemporaryDirectory() as tmp:
        writecfl(f"{tmp}/k", kspace_to_bart(y))
        writecfl(f"{tmp}/s", maps_to_bart(smaps))
        bart("pics", "-S", "-l1", "-r", lam, "-i", ITERS, "k", "s", "x", cwd=tmp)
        return readcfl(f"{tmp}/x").reshape(64, 64)


def main(out):
    smaps = np.load(f"{DATA}/smaps8.npy").astype(np.complex128)
    truth = np.load("examples/data/mri_complex_truth.npy").astype(np.complex128)
    rng = np.random.default_rng(20261203)
    tune_truth = np.load(f"{DATA}/truth_{TUNE}.npy") * np.exp(1j * smooth_phase(64, rng))
    data = {}
    for a in (4, 8):
        mask = np.load(f"{DATA}/mask{a}.npy")
        y = simulate(truth, smaps, mask, rng)
        np.save(f"{DATA}/kspace{a}_complex_8.npy", y.astype(np.complex64))
        y_tune = simulate(tune_truth, smaps, mask, rng)
        data[a] = (y.astype(np.complex64).astype(np.complex128), mask, y_tune, smaps)
    print(f"wrote {DATA}/kspace{{4,8}}_complex_8.npy")
    # Single coil (models/mri_complex.uq's own data and mask; a map of ones), tuned the same way.
    mask1, ones = np.load("examples/data/mri_mask.npy"), np.ones((1, 64, 64), complex)
    y1 = np.load("examples/data/mri_complex_kspace.npy").astype(np.complex128)[None]
    data["single"] = (y1, mask1, simulate(tune_truth, ones, mask1, rng), ones)
    os.makedirs(out, exist_ok=True)
    report = {"lambda_grid": LAMBDAS, "iterations": ITERS, "tune_slice": TUNE, "settings": {}}
    for a, (y, mask, y_tune, maps) in data.items():
        tune = {lam: psnr(pics(y_tune, maps, lam), tune_truth) for lam in LAMBDAS}
        best = max(tune, key=tune.get)
        x = pics(y, maps, best)
        adj = (np.conj(maps) * np.fft.ifft2(mask * y, norm="ortho")).sum(0)
        name = "single_complex" if a == "single" else f"cart{a}_complex_8"
        np.save(f"{out}/{name}_pics.npy", x)
        np.save(f"{out}/{name}_adjoint.npy", adj)
        rec = {"tuning_psnr": {str(k): round(v, 2) for k, v in tune.items()}, "lambda": best,
               "pics": round(psnr(x, truth), 2), "adjoint": round(psnr(adj, truth), 2)}
        report["settings"][name] = rec
        print(name, json.dumps(rec))
    with open(f"{out}/baselines_complex.json", "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "uq-out/baselines")
