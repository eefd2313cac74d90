"""Data of the interpreter benchmark models (benches/models/*.uq), deterministic: numpy only.

deblur32: a colour-correcting reparameterisation x = 0.5 + re(ifft(sqrtlam * fft(z))) (a
stationary Gaussian prior of correlation width 2 px and sd 0.3) and a Gaussian blur of width 1 px
applied by its transfer function Hf; y is the blurred image plus N(0, 0.02²) noise.
blur64: a 64×64 image blurred by the stdlib's 9×9 Gaussian (width 1.5) plus noise.
sense8 uses examples/data/multicoil (BART coil maps, 4× Cartesian mask).
"""
import numpy as np
from pathlib import Path

here = Path(__file__).parent
rng = np.random.default_rng(0)


def transfer(n, width):
    k = np.fft.fftfreq(n) * 2 * np.pi
    return np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) * width**2 / 2)


def fft2(x):
    return np.fft.fft2(x, norm="ortho")


def ifft2(x):
    return np.fft.ifft2(x, norm="ortho")


n = 32
# Prior covariance C = F⁻¹ diag(λ) F with λ the transfer function of a width-2 Gaussian scaled so
# that the pixel sd is 0.3: sqrtlam = sqrt(λ).
lam = transfer(n, 2.0)
lam *= 0.3**2 * n * n / lam.sum()
sqrtlam = np.sqrt(lam)
hf = transfer(n, 1.0)
z = rng.standard_normal((n, n))
x = 0.5 + ifft2(sqrtlam * fft2(z)).real
y = ifft2(hf * fft2(x)).real + 0.02 * rng.standard_normal((n, n))
np.save(here / "deblur32_sqrtlam.npy", sqrtlam)
np.save(here / "deblur32_hf.npy", hf)
np.save(here / "deblur32_y.npy", y)

# 9×9 Gaussian of sd 1.5 normalised to 1, centred at (4, 4), applied circularly.
m = 64
a = np.arange(9) - 4
k = np.exp(-(a[:, None] ** 2 + a[None, :] ** 2) / (2 * 1.5**2))
k /= k.sum()
yy, xx = np.mgrid[0:m, 0:m]
truth = 0.5 + 0.3 * np.sin(xx / 5.0) * np.cos(yy / 7.0)
blurred = sum(k[i, j] * np.roll(truth, (i - 4, j - 4), axis=(0, 1)) for i in range(9) for j in range(9))
np.save(here / "blur64_y.npy", blurred + 0.02 * rng.standard_normal((m, m)))
