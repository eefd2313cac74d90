"""Tables and the figure of docs/supn.md's comparison from examples/supn/run.sh's results.

Usage (from the repository root): python3 examples/supn/table.py TAG_SUPN TAG_DIAG [FIGURE.png]
Reads uq-out/supn/{TAG}/results.txt, prints markdown tables (mean over the cases of each setting:
PSNR of the MAP image, of the baseline, and 90% coverage inside the head) and, with FIGURE, plots
PSNR against the number of spokes at each noise level (the talk's Figure 15); a second table gives
the PSNR difference of the two priors per image set (own head, skull-stripped, second person).
"""
import json
import sys
from collections import defaultdict


def read(tag):
    rows = defaultdict(list)
    for line in open(f"uq-out/supn/{tag}/results.txt"):
        case, setting, wall, js = line.split(" ", 3)
        r = json.loads(js)
        r["wall"] = float(wall.split("=")[1])
        r["set"] = case.split("_")[0]
        r["case"] = case
        rows[setting].append(r)
    return rows


def mean(v):
    return sum(v) / len(v)


def main():
    tags = sys.argv[1:3]
    runs = {t: read(t) for t in tags}
    settings = [s for s in runs[tags[0]] if all(s in runs[t] for t in tags)]
    print(f"| setting | cases | baseline PSNR | " + " | ".join(f"{t} PSNR | {t} coverage" for t in tags) + " | wall (s) |")
    print("|---|---|---|" + "---|---|" * len(tags) + "---|")
    for s in settings:
        first = runs[tags[0]][s]
        cells = [f"{mean([r['psnr_mean'] for r in runs[t][s]]):.2f} | {mean([r['coverage90_head'] for r in runs[t][s]]):.3f}" for t in tags]
        walls = "/".join(f"{mean([r['wall'] for r in runs[t][s]]):.0f}" for t in tags)
        print(f"| {s} | {len(first)} | {mean([r['psnr_baseline'] for r in first]):.2f} | " + " | ".join(cells) + f" | {walls} |")
    # The autoencoder reference of the denoising rows, where examples/supn_autoencode wrote it
    # (uq-out/supn/data/{CASE}_{SETTING}_ae.npy): PSNR of μ(E(y)) against the truth.
    import os
    import numpy as np
    for s in [s for s in settings if s.startswith("dn")]:
        ps = []
        for r in runs[tags[0]][s]:
            ae = f"uq-out/supn/data/{r['case']}_{s}_ae.npy"
            if os.path.exists(ae):
                x = np.load(f"uq-out/supn/data/{r['case']}_truth.npy")
                ps.append(10 * np.log10(x.max() ** 2 / ((np.load(ae) - x) ** 2).mean()))
        if ps:
            print(f"{s}: autoencoder μ(E(y)) PSNR {mean(ps):.2f} over {len(ps)} cases")
    sets = ["head", "brain", "head2"]
    print()
    print("| setting | " + " | ".join(f"{st}: {tags[0]} − {tags[1]} (dB)" for st in sets) + " |")
    print("|---|" + "---|" * len(sets))
    for s in settings:
        cells = []
        for st in sets:
            a = [r["psnr_mean"] for r in runs[tags[0]][s] if r["set"] == st]
            b = [r["psnr_mean"] for r in runs[tags[1]][s] if r["set"] == st]
            cells.append(f"{mean(a) - mean(b):+.2f}" if a and b else "")
        print(f"| {s} | " + " | ".join(cells) + " |")
    if len(sys.argv) > 3:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        noises = sorted({s.split("_")[1] for s in settings if s.startswith("r")}, key=float)
        fig, axes = plt.subplots(1, len(noises), figsize=(5 * len(noises), 3.6), squeeze=False)
        for ax, sd in zip(axes[0], noises):
            ss = sorted([s for s in settings if s.startswith("r") and s.endswith("_" + sd)], key=lambda s: int(s[1:].split("_")[0]))
            spokes = [int(s[1:].split("_")[0]) for s in ss]
            for t, style in zip(tags, ["o-", "s--"]):
                label = {"supn5": "SUPN (5×5 stencil)", "diag": "diagonal precision"}.get(t, t)
                ax.plot(spokes, [mean([r["psnr_mean"] for r in runs[t][s]]) for s in ss], style, label=label)
            ax.plot(spokes, [mean([r["psnr_baseline"] for r in runs[tags[0]][s]]) for s in ss], "x:", label="gridding (ramp DCF)")
            ax.set_xscale("log", base=2)
            ax.set_xticks(spokes, [str(s) for s in spokes])
            ax.set_xlabel("radial spokes")
            ax.set_ylabel("PSNR (dB)")
            ax.set_title(f"MAP of z, 9 held-out slices, noise σ = {sd}")
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        fig.savefig(sys.argv[3], dpi=100)
        print(f"wrote {sys.argv[3]}")


if __name__ == "__main__":
    main()
