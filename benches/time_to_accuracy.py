"""Time to accuracy on the 32×32 deblurring posterior (benches/models/deblur32.uq), uq vs deepinv ULA.

The model: z ~ N(0, I) (32×32), x = 0.5 + S z with S = F⁻¹ diag(sqrtlam) F (a stationary Gaussian
prior of sd 0.3), y = H x + N(0, 0.02²) with H = F⁻¹ diag(hf) F (a Gaussian blur). S and H are real,
symmetric and commute, so the posterior is Gaussian and diagonal in frequency: the exact mean and
per-pixel sd of x are computed here. Accuracy is measured on x, as in the issue: the RMS over
pixels of (estimated mean − exact mean) / exact sd, and the mean ratio of estimated to exact sd.

  python time_to_accuracy.py deepinv [--iters 20000] [--seed 0]   # runs deepinv's ULA, prints JSON
  python time_to_accuracy.py uq RUN_DIR                            # scores a `uq sample` run of deblur32

deepinv's ULA runs on the same parameterisation (z with its N(0, I) prior and the affine forward map
y − H·0.5 = H S z), with the step 1/L, L the largest posterior precision (its stability limit is 2/L),
no box constraint (z is unbounded), deepinv's default burn-in (20 %) and thinning (5), and the statistic
x = 0.5 + S z. Needs numpy (and torch + deepinv for `deepinv`); uses no network.
"""
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent / "models"
SIGMA = 0.02


def fft2(x):
    return np.fft.fft2(x, norm="ortho")


def ifft2(x):
    return np.fft.ifft2(x, norm="ortho")


def problem():
    y = np.load(HERE / "deblur32_y.npy")
    sqrtlam = np.load(HERE / "deblur32_sqrtlam.npy")
    hf = np.load(HERE / "deblur32_hf.npy")
    return y, sqrtlam, hf


def exact():
    """Exact posterior mean and sd of x (per pixel)."""
    y, sqrtlam, hf = problem()
    lam = sqrtlam**2
    offset = ifft2(hf * fft2(np.full_like(y, 0.5))).real
    yk = fft2(y - offset)
    prec = 1.0 / np.maximum(lam, 1e-300) + hf**2 / SIGMA**2
    # u = x − 0.5 ~ N(0, C): posterior mean of u per frequency, and its variance.
    mean_k = (hf / SIGMA**2) * yk / prec
    var_k = np.where(lam > 0, 1.0 / prec, 0.0)
    mean = 0.5 + ifft2(mean_k).real
    sd = np.sqrt(var_k.sum() / y.size) * np.ones_like(y)
    return mean, sd


def score(mean, sd):
    m0, s0 = exact()
    err = float(np.sqrt(np.mean(((mean - m0) / s0) ** 2)))
    ratio = float(np.mean(sd / s0))
    return err, ratio


def x_of_z(z, sqrtlam):
    return 0.5 + ifft2(sqrtlam * fft2(z)).real


def run_uq(run_dir):
    run = Path(run_dir)
    summary = json.loads((run / "summary.json").read_text())
    samples = np.load(run / "z" / "samples.npy")  # [chains, draws, 32, 32]
    _, sqrtlam, _ = problem()
    flat = samples.reshape(-1, *samples.shape[-2:])
    xs = np.stack([x_of_z(z, sqrtlam) for z in flat])
    err, ratio = score(xs.mean(0), xs.std(0, ddof=1))
    return {
        "tool": "uq",
        "wall_s": summary.get("wall_seconds"),
        "grad_evals": summary.get("grad_evals"),
        "draws": int(flat.shape[0]),
        "error_sd": err,
        "sd_ratio": ratio,
        "metric_rank": summary.get("extra", {}).get("metric_rank"),
    }


def run_deepinv(iters, seed):
    import torch
    import deepinv as dinv

    torch.set_default_dtype(torch.float64)
    y, sqrtlam, hf = problem()
    offset = ifft2(hf * fft2(np.full_like(y, 0.5))).real
    s_t = torch.tensor(sqrtlam)
    h_t = torch.tensor(hf)

    def conv(v, k):
        return torch.fft.ifft2(k * torch.fft.fft2(v, norm="ortho"), norm="ortho").real

    def forward(z):
        return conv(conv(z, s_t), h_t)

    physics = dinv.physics.LinearPhysics(A=forward, A_adjoint=forward)

    class StandardNormal(dinv.optim.ScorePrior):
        """−log N(z; 0, I): gradient z."""

        def __init__(self):
            super().__init__(denoiser=None)

        def grad(self, x, *args, **kwargs):
            return x

    lipschitz = float(1.0 + (hf * sqrtlam).max() ** 2 / SIGMA**2)
    ula = dinv.sampling.ULA(
        StandardNormal(),
        dinv.optim.data_fidelity.L2(sigma=SIGMA),
        step_size=1.0 / lipschitz,
        sigma=SIGMA,
        alpha=1.0,
        max_iter=iters,
        clip=None,
        verbose=False,
    )
    yy = torch.tensor(y - offset)[None, None]
    started = time.perf_counter()
    mean, var = ula(yy, physics, seed=seed, g_statistics=lambda d: 0.5 + conv(d["x"], s_t))
    wall = time.perf_counter() - started
    mean = mean.squeeze().numpy()
    sd = np.sqrt(var.squeeze().numpy())
    err, ratio = score(mean, sd)
    return {
        "tool": "deepinv-ula",
        "wall_s": wall,
        "iterations": iters,
        "step_size": 1.0 / lipschitz,
        "error_sd": err,
        "sd_ratio": ratio,
        "torch_threads": torch.get_num_threads(),
    }


def main(argv):
    if len(argv) >= 2 and argv[1] == "deepinv":
        iters = int(argv[argv.index("--iters") + 1]) if "--iters" in argv else 20000
        seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 0
        print(json.dumps(run_deepinv(iters, seed)))
    elif len(argv) == 3 and argv[1] == "uq":
        print(json.dumps(run_uq(argv[2])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
