#!/usr/bin/env python3
"""Each step's CPU time, I/O wait and run-queue wait, beside its wall time (issue 16).

Usage: stage_cpu.py OUT.json -- FIRECREDIT_BIN [ARGS...]

Runs the command with `--log info` (put it in ARGS), reads its stderr line by line and, at each
`step done` log line, samples the process from /proc (Linux): user+system CPU of all threads
(`stat` fields 14-15), time blocked on block I/O (`stat` field 42, delay accounting) and the
time its threads waited on a run queue for a CPU (`task/*/schedstat`, second field). A step's
figures are the differences between its line and the previous one, so they add up to the whole
run. Wall-clock ratios of single runs vary by up to 2x on a shared 2-core machine; CPU time
measures the work itself, and the two waits say where the rest of the wall time went.

`median_of_runs.py --cpu DIR` reads the JSON files this writes.
"""
import json
import os
import re
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")
STEP = re.compile(r'step done.*stage="?([\w.]+)"?.*step="?([\w.]+)"?')
# Older builds colour their log even when it is not a terminal.
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def sample(pid):
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces: fields start after its closing parenthesis.
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    blkio = int(fields[39]) / TICK
    queued = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                queued += int(f.read().split()[1])
        except OSError:
            pass  # the thread ended between the listing and the read
    return {"wall": time.monotonic(), "cpu": cpu, "io_wait": blkio, "queue_wait": queued / 1e9}


def main():
    out, sep, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
    assert sep == "--", __doc__
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    steps, last = [], sample(proc.pid)
    for line in proc.stderr:
        m = STEP.search(ANSI.sub("", line))
        if not m:
            continue
        now = sample(proc.pid)
        steps.append({"step": f"{m[1]}.{m[2]}", **{k: now[k] - last[k] for k in now}})
        last = now
    code = proc.wait()
    if code != 0:
        sys.exit(f"command exited {code}")
    json.dump(steps, open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
