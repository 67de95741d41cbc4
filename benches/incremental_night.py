#!/usr/bin/env python3
"""An incremental night beside a full one (issue 22), on one generated province.

Usage: incremental_night.py FIRECREDIT BASE DAY AS_OF WORK [--memory-limit 6G] [--refit auto]

BASE and DAY come from `firecredit generate --as-of AS_OF --out BASE --last-day DAY`: BASE is
the history to the day before AS_OF, DAY the rows of AS_OF itself.

1. `nightly --inbox BASE --as-of AS_OF-1` into WORK/lake (the night before; timed, not compared);
2. the lake copied to WORK/full;
3. `nightly --inbox DAY --as-of AS_OF` on WORK/lake: the incremental night (intervals carried,
   models per --refit);
4. `nightly --inbox DAY --as-of AS_OF --full` on WORK/full: the same night computed anew;
5. every output of the two runs compared: Parquet tables row by row in file order (pyarrow),
   every other file by its SHA-256; the models' JSON too when --refit is auto or always.

Each command runs under `/usr/bin/time` (seconds, peak RSS). Prints the timings, the steps
that differ most, and the comparison; exits 1 when an output differs.
"""

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq


def timed(cmd, log):
    """Runs `cmd` under /usr/bin/time; returns (seconds, peak GiB)."""
    with open(log, "w") as f:
        subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", *cmd], stdout=f, stderr=f,
                       check=True)
    last = [line for line in Path(log).read_text().splitlines() if line.startswith("TIME ")][-1]
    _, seconds, kb = last.split()
    return float(seconds), int(kb) / 2**20


def manifest(lake, day):
    return json.loads((lake / "runs" / day / "manifest.json").read_text())


def steps(m):
    return {t["stage"]: t["seconds"] for t in m["stage_timings"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("firecredit")
    ap.add_argument("base", type=Path)
    ap.add_argument("day", type=Path)
    ap.add_argument("as_of")
    ap.add_argument("work", type=Path)
    ap.add_argument("--memory-limit", default="6G")
    ap.add_argument("--refit", default="auto")
    a = ap.parse_args()
    day = a.as_of
    before = (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
    lake, full = a.work / "lake", a.work / "full"
    if lake.exists() or full.exists():
        sys.exit(f"{a.work} already holds lakes: give an empty folder")
    a.work.mkdir(parents=True, exist_ok=True)
    common = ["--memory-limit", a.memory_limit]

    s0, r0 = timed([a.firecredit, "--log", "info", "nightly", "--inbox", str(a.base), "--lake",
                    str(lake), "--as-of", before, *common], a.work / "night-before.log")
    shutil.copytree(lake, full)
    s1, r1 = timed([a.firecredit, "--log", "info", "nightly", "--inbox", str(a.day), "--lake",
                    str(lake), "--as-of", day, "--refit", a.refit, *common],
                   a.work / "incremental.log")
    s2, r2 = timed([a.firecredit, "--log", "info", "nightly", "--inbox", str(a.day), "--lake",
                    str(full), "--as-of", day, "--full", *common], a.work / "full.log")

    mi, mf = manifest(lake, day), manifest(full, day)
    print(f"night before ({before}, BASE)    {s0:8.2f} s  peak {r0:5.2f} GiB")
    print(f"incremental night ({day})  {s1:8.2f} s  peak {r1:5.2f} GiB")
    print(f"full night ({day})         {s2:8.2f} s  peak {r2:5.2f} GiB")
    print(f"incremental / full            {s1 / s2:8.2f}")
    for name, r in mi.get("reuse", {}).items():
        print(f"reuse {name}: {r['mode']} ({r['detail']})")
    si, sf = steps(mi), steps(mf)
    print(f"\n{'step':<36}{'incremental':>12}{'full':>10}")
    for stage in sorted(si, key=lambda s: -abs(sf.get(s, 0) - si[s]))[:8]:
        print(f"{stage:<36}{si[stage]:>12.2f}{sf.get(stage, 0):>10.2f}")

    compare_models = a.refit != "never"
    by_name = {(o["name"], o["format"]): o for o in mf["outputs"]}
    differ = []
    for o in mi["outputs"]:
        p = by_name.get((o["name"], o["format"]))
        if p is None:
            differ.append(f"{o['name']}.{o['format']}: missing in the full run")
        elif o["format"] == "parquet":
            if not pq.read_table(lake / o["path"]).equals(pq.read_table(full / p["path"])):
                differ.append(f"{o['name']}.parquet: rows differ")
        elif o["sha256"] != p["sha256"] and (compare_models or o["format"] != "json"):
            differ.append(f"{o['name']}.{o['format']}: bytes differ")
    same_bytes = sum(o["sha256"] == by_name[(o["name"], o["format"])]["sha256"]
                     for o in mi["outputs"] if (o["name"], o["format"]) in by_name)
    print(f"\n{len(mi['outputs'])} outputs compared: {len(differ)} differ; "
          f"{same_bytes} byte-identical")
    for d in differ:
        print("  " + d)
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
