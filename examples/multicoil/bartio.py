"""BART .cfl/.hdr files and uq ↔ BART conventions for the multi-coil baselines (numpy only).

uq/numpy: images [..., h, w], k-space unshifted (numpy fft2, norm="ortho"), coils first.
BART: dims [X, Y, Z, COIL, ...] column-major, X = numpy axis h; k-space centred.
"""
import os
import subprocess

import numpy as np


def writecfl(name, a):
    """`a` in BART's dim order (numpy shape = BART dims)."""
    a = np.asarray(a, dtype=np.complex64)
    dims = list(a.shape) + [1] * (16 - a.ndim)
    with open(name + ".hdr", "w") as f:
        f.write("# Dimensions\n" + " ".join(str(d) for d in dims) + "\n")
    a.T.tofile(name + ".cfl")  # column-major


def readcfl(name):
    with open(name + ".hdr") as f:
        f.readline()
        dims = [int(d) for d in f.readline().split()]
    while len(dims) > 1 and dims[-1] == 1:
        dims.pop()
    return np.fromfile(name + ".cfl", np.complex64).reshape(dims[::-1]).T


def checkerboard(h, w):
    return (-1.0) ** np.add.outer(np.arange(h), np.arange(w))


def kspace_to_bart(y):
    """uq k-space [c, h, w] (unshifted) → BART [h, w, 1, c] (centred): fftshift(y·(−1)^(kx+ky))."""
    h, w = y.shape[-2:]
    yb = np.fft.fftshift(y * checkerboard(h, w), axes=(-2, -1))
    return np.moveaxis(yb, 0, -1)[:, :, None, :]


def mask_to_bart(m):
    return np.fft.fftshift(m)


def maps_to_bart(s):
    """uq coil maps [c, h, w] → BART [h, w, 1, c] (image domain: no shift)."""
    return np.moveaxis(s, 0, -1)[:, :, None, :]


def traj_to_bart(traj, n):
    """uq trajectory [M, 2] radians → BART [3, M] in grid units (k = ω n / 2π)."""
    t = np.zeros((3, traj.shape[0]))
    t[:2] = traj.T * n / (2 * np.pi)
    return t


def radial_to_bart(y, traj, h, w):
    """uq non-Cartesian samples [c, M] → BART [1, M, 1, c]: BART's NUFFT (also scaled by
    (hw)^(−1/2)) is centred at (h/2, w/2), so a BART sample is uq's times exp(i(ω0 h/2 + ω1 w/2))."""
    ramp = np.exp(1j * (traj[:, 0] * (h // 2) + traj[:, 1] * (w // 2)))
    yb = y * ramp
    return np.moveaxis(yb, 0, -1)[None, :, None, :]


def bart(*args, cwd):
    subprocess.run(["bart", *[str(a) for a in args]], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "2"})
