#!/usr/bin/env python3
"""One step of `run --full`, two builds alternated, medians: for a change to one early step,
without waiting for every step after it.

Usage: step_medians.py BEFORE_BIN AFTER_BIN LAKE AS_OF STEP[,STEP…] [--rounds 3]
       [--memory-limit 6G] [--truth INBOX/_truth/fire_truth.csv]

Each round runs `BIN run --full --lake LAKE --as-of AS_OF` with each build in turn (the order
swapped every round), reads the step's time from its `step done` log line, and stops the run
there: the run is not committed, the lake keeps its last committed run of the day, and the
folder the stopped run was writing (a GD-1M run's outputs reach ~1 GB) is removed. LAKE is a
local folder. The step must be one `run` reaches in the same position with both builds. Several
steps, comma-separated, are timed as the sum of their times (work moved from one to another);
the run stops at the last. `--truth` passes the generator's truth file, as `nightly` does. Prints
each time, the medians and their ratio. Single runs on a shared machine move by 10-30 %: use three rounds or more.
"""

import argparse
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path


def step_seconds(binary, args, steps):
    """Runs `binary run --full …` until the last of `steps` is done; their seconds summed."""
    cmd = [binary, "--log", "info", "run", "--full", "--lake", args.lake, "--as-of", args.as_of,
           "--memory-limit", args.memory_limit]
    if args.truth:
        cmd += ["--truth", args.truth]
    pattern = re.compile(r'step done .*step="([a-z0-9_]+)" seconds="([0-9.]+)"')
    seconds = {}
    day = Path(args.lake) / "runs" / args.as_of
    earlier = set(day.iterdir()) if day.is_dir() else set()
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True) as run:
        for line in run.stderr:
            if (m := pattern.search(line)) and m.group(1) in steps:
                seconds[m.group(1)] = float(m.group(2))
                if len(seconds) < len(steps):
                    continue
                run.kill()
                run.wait()
                # The stopped run's folder: new since it began, and named by no manifest (the
                # run was stopped before its commit).
                for folder in set(day.iterdir()) - earlier:
                    if folder.is_dir():
                        shutil.rmtree(folder)
                return sum(seconds.values())
        run.wait()
    sys.exit(f"{binary}: no step of {steps} (exit {run.returncode})")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("lake")
    p.add_argument("as_of")
    p.add_argument("step")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--memory-limit", default="6G")
    p.add_argument("--truth")
    args = p.parse_args()
    steps = set(args.step.split(","))
    times = {"before": [], "after": []}
    for r in range(args.rounds):
        order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
        for label in order:
            s = step_seconds(getattr(args, label), args, steps)
            times[label].append(s)
            print(f"round {r + 1} {label}: {s:.2f} s", flush=True)
    before, after = (statistics.median(times[k]) for k in ("before", "after"))
    print(f"{args.step}: before {before:.2f} s, after {after:.2f} s (medians of {args.rounds}), "
          f"after / before {after / before:.2f}")


if __name__ == "__main__":
    main()
