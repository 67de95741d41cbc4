#!/usr/bin/env python3
"""Medians of stage timings over repeated runs of two builds (BENCHMARKS.md, issue 16).

Usage: median_of_runs.py DIR          wall time, from manifests
       median_of_runs.py --cpu DIR    wall, CPU, I/O wait and run-queue wait, from stage_cpu.py

DIR holds the manifests of repeated runs, `m-before-N.json` and `m-after-N.json` (copied from
`LAKE/runs/<as_of>/manifest.json` after each run), or with `--cpu` the files `c-before-N.json`
and `c-after-N.json` written by `stage_cpu.py`. Prints a Markdown table: each stage's median per
build, their ratio, and the ratio of each pair (the Nth before and after files in name order).
"""
import glob
import json
import statistics
import sys


def load(folder, prefix, label):
    out = []
    for f in sorted(glob.glob(f"{folder}/{prefix}-{label}-*.json")):
        data = json.load(open(f))
        if prefix == "m":
            out.append({t["stage"]: {"wall": t["seconds"]} for t in data["stage_timings"]})
        else:
            out.append({s["step"]: s for s in data})
    return out


def main():
    cpu = sys.argv[1] == "--cpu"
    folder = sys.argv[-1]
    prefix = "c" if cpu else "m"
    b, a = load(folder, prefix, "before"), load(folder, prefix, "after")
    med = lambda runs, k, field: statistics.median(r[k][field] for r in runs)
    if not cpu:
        print(f"| step | before (median of {len(b)}) | after (median of {len(a)}) | after / before | each pair |")
        print("|---|---|---|---|---|")
        for k in b[0]:
            mb, ma = med(b, k, "wall"), med(a, k, "wall")
            pairs = " ".join(f"{x[k]['wall'] / y[k]['wall']:.2f}" for x, y in zip(a, b))
            print(f"| {k} | {mb:.2f} s | {ma:.2f} s | {ma / mb:.2f} | {pairs} |")
        return
    print(f"| step | wall before | wall after | wall ratio | CPU before | CPU after | CPU ratio | CPU ratio each pair | I/O wait b / a | queue wait b / a |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    steps = list(b[0])
    for r in a + b:
        r["total"] = {f: sum(r[s][f] for s in steps) for f in ("wall", "cpu", "io_wait", "queue_wait")}
    for k in steps + ["total"]:
        wb, wa = med(b, k, "wall"), med(a, k, "wall")
        cb, ca = med(b, k, "cpu"), med(a, k, "cpu")
        # Below two clock ticks a ratio says nothing.
        ratio = lambda x, y: f"{x / y:.2f}" if y >= 0.02 else "—"
        pairs = " ".join(ratio(x[k]["cpu"], y[k]["cpu"]) for x, y in zip(a, b))
        io = f"{med(b, k, 'io_wait'):.2f} / {med(a, k, 'io_wait'):.2f}"
        q = f"{med(b, k, 'queue_wait'):.2f} / {med(a, k, 'queue_wait'):.2f}"
        print(f"| {k} | {wb:.2f} s | {wa:.2f} s | {wa / wb:.2f} | {cb:.2f} s | {ca:.2f} s | {ratio(ca, cb)} | {pairs} | {io} | {q} |")


if __name__ == "__main__":
    main()
