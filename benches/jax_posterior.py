"""The interpreter benchmark models (benches/models/*.uq) in JAX: log posterior and its gradient,
jit-compiled on the CPU, timed the way `uq bench posterior` times uq (median of rounds of calls).

Prints one JSON line per model and batch size with `log_density` at the same point uq evaluates
(chain c, coordinate k: 0.1·sin(0.37k + c)), so the two implement the same model, and
`grad_evals_per_s`. A measurement tool only: JAX is not a dependency of uq.

    python3 -m venv /tmp/jaxvenv && /tmp/jaxvenv/bin/pip install "jax[cpu]" numpy
    /tmp/jaxvenv/bin/python benches/jax_posterior.py --model deblur32 --chains 1
"""
import argparse
import json
import math
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "benches" / "models"
MULTICOIL = ROOT / "examples" / "data" / "multicoil"
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def fft2(x):
    return jnp.fft.fft2(x, norm="ortho")


def ifft2(x):
    return jnp.fft.ifft2(x, norm="ortho")


def normal(y, mean, sigma, k=1.0):
    """Σ log N(y; mean, σ²) elementwise; complex values count real and imaginary parts (k = 2)."""
    r2 = jnp.sum(jnp.abs(y - mean) ** 2)
    return -0.5 * r2 / sigma**2 - y.size * k * (math.log(sigma) + HALF_LOG_2PI)


def deblur32():
    y = jnp.asarray(np.load(MODELS / "deblur32_y.npy"))
    sqrtlam = jnp.asarray(np.load(MODELS / "deblur32_sqrtlam.npy"))
    hf = jnp.asarray(np.load(MODELS / "deblur32_hf.npy"))

    def logp(flat):
        z = flat.reshape(32, 32)
        x = 0.5 + ifft2(sqrtlam * fft2(z)).real
        return normal(z, 0.0, 1.0) + normal(y, ifft2(hf * fft2(x)).real, 0.02)

    return logp, 32 * 32


def gaussian_kernel_fft(n, size, sd):
    """The transfer function of stdlib `conv(x, gaussian_kernel(size, sd))` on an n×n image: the
    kernel, normalised to 1, centred at (size/2, size/2), applied circularly."""
    a = np.arange(size) - size // 2
    k = np.exp(-(a[:, None] ** 2 + a[None, :] ** 2) / (2 * sd**2))
    k /= k.sum()
    padded = np.zeros((n, n))
    padded[:size, :size] = k
    padded = np.roll(padded, (-(size // 2), -(size // 2)), axis=(0, 1))
    return jnp.asarray(np.fft.fft2(padded))


def blur64():
    y = jnp.asarray(np.load(MODELS / "blur64_y.npy"))
    h = gaussian_kernel_fft(64, 9, 1.5)

    def logp(flat):
        x = flat.reshape(64, 64)
        return normal(x, 0.5, 0.5) + normal(y, jnp.fft.ifft2(h * jnp.fft.fft2(x)).real, 0.02)

    return logp, 64 * 64


def sense8():
    y = jnp.asarray(np.load(MULTICOIL / "kspace4_8.npy"))
    smaps = jnp.asarray(np.load(MULTICOIL / "smaps8.npy"))
    mask = jnp.asarray(np.load(MULTICOIL / "mask4.npy"))

    def logp(flat):
        x = flat.reshape(64, 64)
        return normal(x, 0.5, 0.5) + normal(y, mask * fft2(smaps * x), 0.02, k=2.0)

    return logp, 64 * 64


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["deblur32", "blur64", "sense8"], required=True)
    ap.add_argument("--chains", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--calls", type=int, default=200)
    a = ap.parse_args()
    logp, dim = {"deblur32": deblur32, "blur64": blur64, "sense8": sense8}[a.model]()
    grad = jax.jit(jax.vmap(jax.value_and_grad(logp)))
    k = np.arange(dim)
    xs = jnp.asarray(np.stack([0.1 * np.sin(0.37 * k + c) for c in range(a.chains)]))
    value, g = grad(xs)
    jax.block_until_ready(g)
    times = []
    for _ in range(a.rounds):
        start = time.perf_counter()
        for _ in range(a.calls):
            value, g = grad(xs)
        jax.block_until_ready(g)
        times.append((time.perf_counter() - start) * 1e6 / a.calls)
    us = sorted(times)[len(times) // 2]
    print(json.dumps({
        "tool": f"jax {jax.__version__}",
        "model": a.model,
        "dim": dim,
        "chains": a.chains,
        "log_density": float(value[0]),
        "us_per_call": us,
        "grad_evals_per_s": a.chains / us * 1e6,
    }))


if __name__ == "__main__":
    main()
