#!/usr/bin/env python3
"""Whether two runs published the same files: a speed change must not change results.

Usage: same_outputs.py LAKE_BEFORE LAKE_AFTER AS_OF

Compares the two day's manifests output by output (name, format, rows, SHA-256 of the file's
bytes); a Parquet file that differs in bytes is compared again by content (schema and rows), so
that a writer's change of layout alone is told apart from a change of results. Exit 0 when every
output matches, 1 otherwise.
"""
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq


def outputs(lake, as_of):
    manifest = json.loads((Path(lake) / "runs" / as_of / "manifest.json").read_text())
    return {(o["name"], o["format"]): o for o in manifest["outputs"]}


def main():
    before_lake, after_lake, as_of = sys.argv[1:4]
    before, after = outputs(before_lake, as_of), outputs(after_lake, as_of)
    differ = sorted(set(before) ^ set(after))
    for key in sorted(set(before) & set(after)):
        b, a = before[key], after[key]
        if b["rows"] != a["rows"]:
            differ.append(key)
        elif b["sha256"] != a["sha256"]:
            tb = pq.read_table(Path(before_lake) / b["path"]) if key[1] == "parquet" else None
            ta = pq.read_table(Path(after_lake) / a["path"]) if key[1] == "parquet" else None
            if tb is None or not (tb.schema == ta.schema and tb.equals(ta)):
                differ.append(key)
            else:
                print(f"{key[0]}.{key[1]}: same rows and schema, other bytes")
    for name, fmt in differ:
        print(f"DIFFERS {name}.{fmt}")
    print(f"{len(before)} outputs before, {len(after)} after, {len(differ)} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
