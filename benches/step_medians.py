#!/usr/bin/env python3
"""One step of `run --full`, two builds alternated, medians: for a change to one early step,
without waiting for every step after it.

Usage: step_medians.py BEFORE_BIN AFTER_BIN LAKE AS_OF STEP [--rounds 3] [--memory-limit 6G]

Each round runs `BIN run --full --lake LAKE --as-of AS_OF` with each build in turn (the order
swapped every round), reads the step's time from its `step done` log line, and stops the run
there: the run is not committed, the lake keeps its last committed run of the day, and the
folder the stopped run was writing (a GD-1M run's outputs reach ~1 GB) is removed. LAKE is a
local folder. The step must be one `run` reaches in the same position with both builds. Prints
each time, the medians and their ratio. Single runs on a shared machine move by 10-30 %: use three rounds or more.
"""

import argparse
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path


def step_seconds(binary, args, step):
    """Runs `binary run --full …` until `step` is done; its seconds."""
    cmd = [binary, "--log", "info", "run", "--full", "--lake", args.lake, "--as-of", args.as_of,
           "--memory-limit", args.memory_limit]
    pattern = re.compile(rf'step done .*step="{re.escape(step)}" seconds="([0-9.]+)"')
    day = Path(args.lake) / "runs" / args.as_of
    earlier = set(day.iterdir()) if day.is_dir() else set()
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True) as run:
        for line in run.stderr:
            if m := pattern.search(line):
                run.kill()
                run.wait()
                # The stopped run's folder: new since it began, and named by no manifest (the
                # run was stopped before its commit).
                for folder in set(day.iterdir()) - earlier:
                    if folder.is_dir():
                        shutil.rmtree(folder)
                return float(m.group(1))
        run.wait()
    sys.exit(f"{binary}: no step {step} (exit {run.returncode})")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("lake")
    p.add_argument("as_of")
    p.add_argument("step")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--memory-limit", default="6G")
    args = p.parse_args()
    times = {"before": [], "after": []}
    for r in range(args.rounds):
        order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
        for label in order:
            s = step_seconds(getattr(args, label), args, args.step)
            times[label].append(s)
            print(f"round {r + 1} {label}: {s:.2f} s", flush=True)
    before, after = (statistics.median(times[k]) for k in ("before", "after"))
    print(f"{args.step}: before {before:.2f} s, after {after:.2f} s (medians of {args.rounds}), "
          f"after / before {after / before:.2f}")


if __name__ == "__main__":
    main()
