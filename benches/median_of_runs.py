#!/usr/bin/env python3
"""Medians of stage timings over repeated runs of two builds (BENCHMARKS.md, issue 16).

Usage: median_of_runs.py DIR

DIR holds the manifests of repeated runs, `m-before-N.json` and `m-after-N.json` (copied from
`LAKE/runs/<as_of>/manifest.json` after each run). Prints a Markdown table: each stage's median
per build, their ratio, and the ratio of each pair (the Nth before and after files in name
order).
"""
import glob
import json
import statistics
import sys


def load(folder, label):
    out = []
    for f in sorted(glob.glob(f"{folder}/m-{label}-*.json")):
        m = json.load(open(f))
        out.append({t["stage"]: t["seconds"] for t in m["stage_timings"]})
    return out


def main():
    folder = sys.argv[1]
    b, a = load(folder, "before"), load(folder, "after")
    print(f"| step | before (median of {len(b)}) | after (median of {len(a)}) | after / before | each pair |")
    print("|---|---|---|---|---|")
    for k in b[0]:
        mb = statistics.median(x[k] for x in b)
        ma = statistics.median(x[k] for x in a)
        pairs = " ".join(f"{x[k] / y[k]:.2f}" for x, y in zip(a, b))
        print(f"| {k} | {mb:.2f} s | {ma:.2f} s | {ma / mb:.2f} | {pairs} |")


if __name__ == "__main__":
    main()
