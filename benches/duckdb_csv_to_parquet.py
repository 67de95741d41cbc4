#!/usr/bin/env python3
"""DuckDB peer for benches/ingest.rs: CSV -> zstd Parquet on the same files; prints seconds.

Usage: duckdb_csv_to_parquet.py 'DIR/*.csv' OUT.parquet   (DuckDB from PyPI: pip install duckdb)
"""
import sys
import time

import duckdb

src, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET threads TO 2")
start = time.perf_counter()
con.execute(
    f"COPY (SELECT * FROM read_csv('{src}', header = true)) TO '{out}' "
    "(FORMAT parquet, COMPRESSION zstd)"
)
print(f"{time.perf_counter() - start:.3f}")
