#!/usr/bin/env python3
"""One step of `run --full`, two builds alternated, medians: for a change to one early step,
without waiting for every step after it.

Usage: step_medians.py BEFORE_BIN AFTER_BIN LAKE AS_OF STEP [--rounds 3] [--memory-limit 6G]

Each round runs `BIN run --full --lake LAKE --as-of AS_OF` with each build in turn (the order
swapped every round), reads the step's time from its `step done` log line, and stops the run
there: the run is not committed, the lake keeps its last committed run of the day (an
uncommitted run folder is left behind, as after any crash; `lake vacuum` removes it). The step
must be one `run` reaches in the same position with both builds. Prints each time, the medians
and their ratio. Single runs on a shared machine move by 10-30 %: use three rounds or more.
"""

import argparse
import re
import statistics
import subprocess
import sys


def step_seconds(binary, args, step):
    """Runs `binary run --full …` until `step` is done; its seconds."""
    cmd = [binary, "--log", "info", "run", "--full", "--lake", args.lake, "--as-of", args.as_of,
           "--memory-limit", args.memory_limit]
    pattern = re.compile(rf'step done .*step="{re.escape(step)}" seconds="([0-9.]+)"')
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True) as run:
        for line in run.stderr:
            if m := pattern.search(line):
                run.kill()
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
