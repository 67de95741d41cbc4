#!/usr/bin/env python3
"""Two builds of firecredit side by side on one inbox: ingest, then run, each into its own
fresh lake, one after the other on the same machine, with the same commands.

Usage: before_after.py BEFORE_BIN AFTER_BIN INBOX AS_OF WORK_DIR [--memory-limit 6G]

For each build: `BIN ingest --inbox INBOX --lake WORK_DIR/<label>` and
`BIN run --lake WORK_DIR/<label> --as-of AS_OF`, each under `/usr/bin/time` (wall seconds, peak
RSS). Then prints one Markdown table: the two commands and every stage the run's manifest times
(`stage_timings`), with the after/before ratio. The lakes are left in WORK_DIR for inspection.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path


def timed(cmd):
    """Runs cmd under /usr/bin/time; returns (wall seconds, peak RSS in KiB)."""
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", *cmd],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    wall, rss = out.stderr.strip().splitlines()[-1].split()
    return float(wall), int(rss)


def measure(binary, inbox, as_of, lake, memory):
    rows = {}
    rows["ingest (whole command)"] = timed([binary, "--log", "warn", "ingest", "--inbox", inbox, "--lake", lake])
    rows["run (whole command)"] = timed(
        [binary, "--log", "warn", "run", "--lake", lake, "--as-of", as_of, "--memory-limit", memory])
    manifest = json.loads((Path(lake) / "runs" / as_of / "manifest.json").read_text())
    for t in manifest["stage_timings"]:
        rows[t["stage"]] = (t["seconds"], None)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("inbox")
    ap.add_argument("as_of")
    ap.add_argument("work", type=Path)
    ap.add_argument("--memory-limit", default="6G")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    results = {}
    for label, binary in [("before", a.before), ("after", a.after)]:
        lake = a.work / label
        if lake.exists():
            sys.exit(f"{lake} exists: give an empty WORK_DIR")
        results[label] = measure(binary, a.inbox, a.as_of, str(lake), a.memory_limit)
    print("| step | before | after | after / before |")
    print("|---|---|---|---|")
    for step, (b, b_rss) in results["before"].items():
        if step not in results["after"]:
            print(f"| {step} | {b:.2f} s | (absent) | |")
            continue
        f, f_rss = results["after"][step]
        rss = f" (peak RSS {b_rss / 1048576:.1f} → {f_rss / 1048576:.1f} GiB)" if b_rss else ""
        ratio = f / b if b > 0 else float("nan")
        print(f"| {step}{rss} | {b:.2f} s | {f:.2f} s | {ratio:.2f} |")
    for step, (f, _) in results["after"].items():
        if step not in results["before"]:
            print(f"| {step} | (absent) | {f:.2f} s | |")


if __name__ == "__main__":
    main()
