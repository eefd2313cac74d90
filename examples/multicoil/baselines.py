"""Baselines for the multi-coil examples, run on the same data as uq: the coil-combined adjoint
(zero-filled) image and BART `pics -l1 -r λ` (L1-wavelet compressed sensing, Debian `bart` 0.8),
λ tuned on a held-out slice that is never scored (examples/multicoil/simulate.py: TUNE).

Run from the repository root (python3 with numpy, `bart` on PATH):
    python3 examples/multicoil/baselines.py [OUT_DIR]       (default uq-out/baselines)
Writes OUT_DIR/{setting}_{slice}_{adjoint,pics}.npy (real part, float64, for
`cargo run --release --example evaluate`) and OUT_DIR/baselines.json (λ grid, tuning PSNRs, the
choice, and the PSNR of each baseline on each scored slice).
"""
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bartio import bart, kspace_to_bart, maps_to_bart, mask_to_bart, radial_to_bart, readcfl, traj_to_bart, writecfl  # noqa: E402
from simulate import OUT as DATA, READOUT, SLICES, SPOKES, TUNE  # noqa: E402

LAMBDAS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
ITERS = 100


def psnr(x, truth):
    """As examples/evaluate.rs: peak = max of the truth, MSE over the whole image."""
    return 10 * np.log10(truth.max() ** 2 / np.mean((x - truth) ** 2))


def setting_inputs(setting, s, smaps):
    """(BART files to write, pics flags, adjoint image) of one setting on slice s."""
    if setting.startswith("cart"):
        a = int(setting[4:])
        y = np.load(f"{DATA}/kspace{a}_{s}.npy").astype(np.complex128)
        m = np.load(f"{DATA}/mask{a}.npy")
        adj = (np.conj(smaps) * np.fft.ifft2(m * y, norm="ortho")).sum(0)
        return {"k": kspace_to_bart(y), "s": maps_to_bart(smaps)}, [], adj
    traj = np.load(f"{DATA}/traj_{setting}.npy")
    y = np.load(f"{DATA}/{setting}_{s}.npy").astype(np.complex128)
    h, w = smaps.shape[-2:]
    # Density-compensated adjoint: a full spoke crosses radius r twice, so S spokes with readout
    # spacing Δr = 2π/READOUT put 2S/(2πr Δr) samples per unit area; the Riemann weight of a
    # sample relative to the grid's (2π)²/(hw) is then hw r Δr / (4π S) = hw r / (2 S READOUT).
    dcf = h * w * np.hypot(traj[:, 0], traj[:, 1]) / (2 * SPOKES * READOUT)
    ep = np.exp(1j * np.outer(np.arange(h), traj[:, 0]))  # [H, M]
    eq = np.exp(1j * np.outer(np.arange(w), traj[:, 1]))  # [W, M]
    coil = np.einsum("pm,cm,qm->cpq", ep, y * dcf, eq) / np.sqrt(h * w)
    adj = (np.conj(smaps) * coil).sum(0)
    files = {"k": radial_to_bart(y, traj, h, w), "s": maps_to_bart(smaps), "t": traj_to_bart(traj, h)}
    # -e: step size from the maximum eigenvalue (without it FISTA diverges on non-Cartesian data).
    return files, ["-t", "t", "-e"], adj


def pics(tmp, flags, lam):
    bart("pics", "-S", "-l1", "-r", lam, "-i", ITERS, *flags, "k", "s", "x", cwd=tmp)
    return readcfl(f"{tmp}/x").reshape(64, 64)


def main(out):
    os.makedirs(out, exist_ok=True)
    smaps = np.load(f"{DATA}/smaps8.npy").astype(np.complex128)
    report = {"lambda_grid": LAMBDAS, "iterations": ITERS, "tune_slice": TUNE, "settings": {}}
    for setting in ["cart4", "cart8", "radial32"]:
        with tempfile.TemporaryDirectory() as tmp:
            files, flags, _ = setting_inputs(setting, TUNE, smaps)
            for name, a in files.items():
                writecfl(f"{tmp}/{name}", a)
            truth = np.load(f"{DATA}/truth_{TUNE}.npy")
            tune = {lam: psnr(pics(tmp, flags, lam).real, truth) for lam in LAMBDAS}
        best = max(tune, key=tune.get)
        rec = {"tuning_psnr": {str(k): round(v, 2) for k, v in tune.items()}, "lambda": best, "slices": {}}
        for s in SLICES:
            truth = np.load(f"{DATA}/truth_{s}.npy")
            with tempfile.TemporaryDirectory() as tmp:
                files, flags, adj = setting_inputs(setting, s, smaps)
                for name, a in files.items():
                    writecfl(f"{tmp}/{name}", a)
                x = pics(tmp, flags, best).real
            np.save(f"{out}/{setting}_{s}_pics.npy", x.astype(np.float64))
            np.save(f"{out}/{setting}_{s}_adjoint.npy", adj.real.astype(np.float64))
            rec["slices"][str(s)] = {"pics": round(psnr(x, truth), 2), "adjoint": round(psnr(adj.real, truth), 2)}
        report["settings"][setting] = rec
        print(setting, json.dumps(rec))
    with open(f"{out}/baselines.json", "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "uq-out/baselines")
