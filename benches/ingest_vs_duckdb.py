#!/usr/bin/env python3
"""Ingest of a whole CSV inbox beside DuckDB's plain CSV -> Parquet on the same files.

Usage: ingest_vs_duckdb.py FIRECREDIT INBOX [--threads 2]
       pip install duckdb deltalake

1. `FIRECREDIT ingest --inbox INBOX --lake <fresh lake>` under `/usr/bin/time` (wall time,
   peak RSS): every source, full validation, quarantine, versions and duplicates, the commit.
   The rows are those the ingest read (`quality.rows_read`); the log's `staged` and `resolved`
   lines split the time.
2. DuckDB, `SET threads` the same: per source folder
   `COPY (SELECT * FROM read_csv('<folder>/*.csv', header = true)) TO ... (FORMAT parquet,
   COMPRESSION zstd)`, which reads, types and writes, and checks nothing.
3. Prints both in rows/s and the ratio (firecredit / DuckDB, in rows/s: above 1 is faster).
"""
import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from deltalake import DeltaTable


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("firecredit")
    ap.add_argument("inbox", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    sources = sorted(p for p in a.inbox.iterdir() if p.is_dir() and not p.name.startswith("_"))
    with tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp) / "lake"
        run = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", a.firecredit, "--log", "info",
                              "ingest", "--inbox", str(a.inbox), "--lake", str(lake)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if run.returncode != 0:
            sys.exit(f"ingest failed ({run.returncode}):\n{run.stderr[-2000:]}")
        seconds, kb = re.search(r"TIME ([0-9.]+) (\d+)", run.stderr).groups()
        seconds, rss = float(seconds), int(kb) * 1024
        phases = {m.group(1): float(m.group(2)) for m in
                  re.finditer(r'(staged|resolved).*?seconds="?([0-9.]+)', run.stderr)}
        con = duckdb.connect()
        files = DeltaTable(str(lake / "tables" / "quality")).file_uris()
        rows = con.execute(f"SELECT sum(rows_read) FROM read_parquet({files!r})").fetchone()[0]

        con.execute(f"SET threads = {a.threads}")
        duck_seconds = duck_rows = 0
        for folder in sources:
            out = Path(tmp) / f"{folder.name}.parquet"
            started = time.perf_counter()
            con.execute(f"COPY (SELECT * FROM read_csv('{folder}/*.csv', header = true)) TO '{out}' "
                        "(FORMAT parquet, COMPRESSION zstd)")
            duck_seconds += time.perf_counter() - started
            duck_rows += con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]

    ours, theirs = rows / seconds, duck_rows / duck_seconds
    print(f"inbox {a.inbox}: {len(sources)} sources")
    print(f"firecredit ingest  {seconds:8.2f} s  {rows:>11,} rows  {ours / 1e6:6.2f} M rows/s  "
          f"peak RSS {rss / 2**30:.2f} GiB  (staged {phases.get('staged', float('nan')):.2f} s, "
          f"resolved {phases.get('resolved', float('nan')):.2f} s)")
    print(f"DuckDB COPY        {duck_seconds:8.2f} s  {duck_rows:>11,} rows  {theirs / 1e6:6.2f} M rows/s")
    print(f"firecredit / DuckDB in rows/s: {ours / theirs:.2f}  (DuckDB {duckdb.__version__}, "
          f"{a.threads} threads)")


if __name__ == "__main__":
    sys.exit(main())
