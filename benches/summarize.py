#!/usr/bin/env python3
"""benches/compare.sh's JSON lines as markdown tables, with ratios to PyTorch: the median over rounds,
and the fastest round (the least disturbed by other load on a shared machine)."""

import json
import statistics
import sys
from collections import defaultdict


def key(r):
    if r.get("impl") == "pytorch":
        fmt = "channels-last" if r["channels_last"] else "NCHW"
        return f"PyTorch {r['dtype']} {fmt}"
    return f"uq {r.get('precision', 'f32')}"


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip().startswith("{")]
    t = defaultdict(list)
    for r in rows:
        for m in ("fwd_ms", "vjp_ms"):
            t[(key(r), r["batch"], m)].append(r[m])
    n = {k: len(v) for k, v in t.items()}
    print(f"rounds per cell: {sorted(set(n.values()))}\n")
    table("median over rounds", {k: statistics.median(v) for k, v in t.items()})
    print()
    table("fastest round", {k: min(v) for k, v in t.items()})


def table(title, med):
    names = sorted({k[0] for k in med}, key=lambda s: (not s.startswith("uq"), s))
    cols = [(b, m) for b in (1, 8) for m in ("fwd_ms", "vjp_ms")]
    head = " | ".join(f"{m[:3]} b{b} (ms)" for b, m in cols)
    print(f"| {title} | {head} |")
    print("|---" * (len(cols) + 1) + "|")
    for name in names:
        cells = " | ".join(f"{med[(name, b, m)]:.1f}" for b, m in cols)
        print(f"| {name} | {cells} |")

    def best(dtype, b, m):
        return min(med[(f"PyTorch {dtype} {f}", b, m)] for f in ("NCHW", "channels-last"))

    for u, p in (("uq f32", "f32"), ("uq bf16", "bf16"), ("uq bf16", "f32")):
        if any((u, b, m) not in med for b, m in cols):
            continue
        cells = " | ".join(f"{med[(u, b, m)] / best(p, b, m):.2f}" for b, m in cols)
        print(f"| {u} / best PyTorch {p} | {cells} |")


if __name__ == "__main__":
    main()
