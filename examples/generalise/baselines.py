"""Total-variation baseline for the generalisation data: BART `pics -R T:3:0:λ` (Debian `bart` 0.8),
single coil (sensitivity 1), λ tuned per set on its tuning slice (never scored).
Run from the repository root after simulate.py (python3 with numpy, `bart` on PATH):
    python3 examples/generalise/baselines.py [OUT_DIR]       (default uq-out/generalise)
Writes OUT_DIR/{set}_{slice}_tv.npy and OUT_DIR/tv.json (λ grid, tuning PSNRs, choice, scored PSNRs).
"""
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "multicoil"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bartio import bart, kspace_to_bart, maps_to_bart, readcfl, writecfl  # noqa: E402
from simulate import OUT as DATA, SETS  # noqa: E402

LAMBDAS = [1e-3, 3e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5]
ITERS = 200


def psnr(x, truth):
    """As examples/evaluate.rs: peak = max of the truth, MSE over the whole image."""
    return 10 * np.log10(truth.max() ** 2 / np.mean((x - truth) ** 2))


def tv(y, lam):
    with tempfile.TemporaryDirectory() as tmp:
        writecfl(f"{tmp}/k", kspace_to_bart(y[None]))
        writecfl(f"{tmp}/s", maps_to_bart(np.ones((1,) + y.shape, dtype=np.complex128)))
        bart("pics", "-S", "-R", f"T:3:0:{lam}", "-i", ITERS, "k", "s", "x", cwd=tmp)
        return readcfl(f"{tmp}/x").reshape(y.shape).real


def main(out):
    os.makedirs(out, exist_ok=True)
    report = {"lambda_grid": LAMBDAS, "iterations": ITERS, "sets": {}}
    for name, (_, scored, tune) in SETS.items():
        y = np.load(f"{DATA}/{name}_{tune}_kspace.npy")
        truth = np.load(f"{DATA}/{name}_{tune}_truth.npy")
        grid = {lam: psnr(tv(y, lam), truth) for lam in LAMBDAS}
        best = max(grid, key=grid.get)
        rec = {"tune_slice": tune, "tuning_psnr": {str(k): round(v, 2) for k, v in grid.items()},
               "lambda": best, "slices": {}}
        for s in scored:
            truth = np.load(f"{DATA}/{name}_{s}_truth.npy")
            x = tv(np.load(f"{DATA}/{name}_{s}_kspace.npy"), best)
            np.save(f"{out}/{name}_{s}_tv.npy", x)
            zf = np.load(f"{DATA}/{name}_{s}_zero_filled.npy")
            rec["slices"][str(s)] = {"tv": round(psnr(x, truth), 2), "zero_filled": round(psnr(zf, truth), 2)}
        report["sets"][name] = rec
        print(name, json.dumps(rec), flush=True)
    with open(f"{out}/tv.json", "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "uq-out/generalise")
