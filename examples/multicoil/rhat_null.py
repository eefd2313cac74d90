"""Largest R-hat over many pixels when every draw is independent and exact.

The MRI runs draw 4 chains x 16 independent annealing rounds of a 64x64 image and report the
largest rank-normalised split R-hat over the 4,096 pixels (Vehtari et al. 2021, the rule uq
uses). This simulates that statistic for i.i.d. normal draws, so the figure has a null reference:
    python3 examples/multicoil/rhat_null.py [CHAINS DRAWS PIXELS REPS]
Needs numpy only.
"""
import sys
from statistics import NormalDist

import numpy as np

_ppf = np.vectorize(NormalDist().inv_cdf)


def _basic(x):
    n = x.shape[1]
    w = x.var(axis=1, ddof=1).mean()
    b = n * x.mean(axis=1).var(ddof=1)
    return np.sqrt(((n - 1) / n * w + b / n) / w)


def _z(x):
    r = x.ravel().argsort().argsort() + 1.0  # continuous draws: no ties
    return _ppf((r - 3 / 8) / (x.size + 1 / 4)).reshape(x.shape)


def rhat(x):
    """Rank-normalised split R-hat: the larger of the bulk and the folded (tail) values."""
    h = x.shape[1] // 2
    s = np.concatenate([x[:, :h], x[:, h : 2 * h]])
    return max(_basic(_z(s)), _basic(_z(np.abs(s - np.median(s)))))


def main():
    chains, draws, pixels, reps = (int(a) for a in (sys.argv[1:] + ["4", "16", "4096", "5"])[:4])
    rng = np.random.default_rng(0)
    worst = [max(rhat(rng.standard_normal((chains, draws))) for _ in range(pixels)) for _ in range(reps)]
    print(f"{chains} chains x {draws} i.i.d. draws, largest R-hat of {pixels} pixels, "
          f"{reps} repetitions: " + ", ".join(f"{w:.3f}" for w in worst))


if __name__ == "__main__":
    main()
