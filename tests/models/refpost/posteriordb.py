"""Writes the kidiq and mesquite fixtures of tests/models/refpost/ from a stan-dev/posteriordb checkout.

Usage: python3 tests/models/refpost/posteriordb.py PATH/TO/posteriordb [COMMIT]
(COMMIT is recorded in meta.json; by default the checkout's `git rev-parse HEAD`.)

For each posterior: `A.npy` (the design matrix, intercept first, in the order of the Stan model's
`beta`), `y.npy` (the response, after the Stan model's transformed data) and `meta.json` (parameter
names, the reference mean and sd of every parameter from posteriordb's 10 × 1,000 reference draws,
the σ prior, and the posteriordb commit). The reference draws themselves are not copied.
Made from posteriordb commit 28f8d3d6e975315f42aa274a8399f21e07a43b30 (BSD-3).
"""

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def load_zip(repo, rel):
    with zipfile.ZipFile(Path(repo) / "posterior_database" / rel) as z:
        (name,) = z.namelist()
        return json.load(io.TextIOWrapper(z.open(name)))


def kidiq_momhsiq(d):
    a = np.column_stack([np.ones(d["N"]), d["mom_hs"], d["mom_iq"]])
    return a, np.array(d["kid_score"], dtype=float)


def kidiq_interaction(d):
    hs, iq = np.array(d["mom_hs"]), np.array(d["mom_iq"])
    return np.column_stack([np.ones(d["N"]), hs, iq, hs * iq]), np.array(d["kid_score"], dtype=float)


MESQUITE = ["diam1", "diam2", "canopy_height", "total_height", "density", "group"]


def mesquite(d):
    cols = [np.ones(d["N"])] + [np.array(d[k], dtype=float) for k in MESQUITE]
    return np.column_stack(cols), np.array(d["weight"], dtype=float)


def logmesquite(d):
    logs = [np.log(np.array(d[k], dtype=float)) for k in MESQUITE[:-1]]
    cols = [np.ones(d["N"])] + logs + [np.array(d["group"], dtype=float)]
    return np.column_stack(cols), np.log(np.array(d["weight"], dtype=float))


POSTERIORS = [
    ("kidiq-kidscore_momhsiq", "kidiq", kidiq_momhsiq, "cauchy(0, 2.5) on sigma > 0"),
    ("kidiq-kidscore_interaction", "kidiq", kidiq_interaction, "cauchy(0, 2.5) on sigma > 0"),
    ("mesquite-mesquite", "mesquite", mesquite, "flat on sigma > 0"),
    ("mesquite-logmesquite", "mesquite", logmesquite, "flat on sigma > 0"),
]


def main(repo, commit=None):
    if commit is None:
        commit = subprocess.run(
            ["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip() or "unknown"
    for name, data, design, prior in POSTERIORS:
        d = load_zip(repo, f"data/data/{data}.json.zip")
        a, y = design(d)
        chains = load_zip(repo, f"reference_posteriors/draws/draws/{name}.json.zip")
        names = list(chains[0].keys())
        draws = np.array([[c[k] for k in names] for c in chains])  # (chains, params, draws)
        flat = draws.transpose(1, 0, 2).reshape(len(names), -1)
        out = HERE / name
        out.mkdir(exist_ok=True)
        np.save(out / "A.npy", a)
        np.save(out / "y.npy", y)
        meta = {
            "names": names,
            "ref_mean": flat.mean(1).tolist(),
            "ref_sd": flat.std(1, ddof=1).tolist(),
            "ref_draws": int(flat.shape[1]),
            "prior": prior,
            "source": f"stan-dev/posteriordb {commit}",
        }
        (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        print(name, a.shape, {k: round(m, 4) for k, m in zip(names, meta["ref_mean"])})


if __name__ == "__main__":
    main(*sys.argv[1:3])
