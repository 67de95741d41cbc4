#!/usr/bin/env python3
"""Stage by stage beside DuckDB, on the same lake Parquet and the same `sql/` files.

Usage: duckdb_stages.py FIRECREDIT LAKE AS_OF [--threads 2] [--memory-limit 6G]
       pip install duckdb deltalake

1. Runs `FIRECREDIT run --lake LAKE --as-of AS_OF` and reads each step's time from the new
   manifest (each firecredit step executes its SQL and writes its Parquet output).
2. Runs the same SQL files in DuckDB, each step as `COPY (<sql>) TO '<step>.parquet'` read
   back as a view by the steps after it, like firecredit does, with the same thread count.
3. Prints both times and the ratio per stage: the hazard steps (IoT intervals included), the
   credit ledger, the credit status at the two past cutoffs (`status.unit_status`) and the
   features.

The SQL is translated mechanically for DuckDB's dialect only: parameters become literals
(every row of `sql/rules/parameters.csv` as written, decimals staying exact); day numbers
(`CAST(date AS INT)`, `CAST(int AS DATE)`) become date arithmetic; `CAST(ts AS BIGINT)` becomes
`epoch_us(ts)`; `local_day(x)` becomes the date at UTC+8; integer division is `//`;
`make_array` is `list_value`.
"""
import argparse
import csv
import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from deltalake import DeltaTable

ROOT = Path(__file__).resolve().parent.parent
SQL = ROOT / "sql"
DAY0 = dt.date(1970, 1, 1)


def scan(s, start=0):
    """(index, character, parenthesis depth after it) outside quoted strings."""
    depth, quote = 0, False
    for i in range(start, len(s)):
        c = s[i]
        if c == "'":
            quote = not quote
        elif not quote:
            depth += (c == "(") - (c == ")")
            yield i, c, depth


def matching(s, start):
    """Index of the parenthesis closing the one at `start`."""
    for i, c, depth in scan(s, start):
        if c == ")" and depth == 0:
            return i
    raise ValueError("unbalanced SQL")


def split_as(inner):
    """`expr AS type` at the top level of a CAST."""
    last = max(i for i, _, depth in scan(inner) if depth == 0 and inner[i:i + 4].upper() == " AS ")
    return inner[:last], inner[last + 4:].strip()


def is_date(expr):
    e = expr.strip()
    return bool(re.search(r"(_on|_due|event_date|AS DATE\))$", e)) or e.endswith("AS DATE)")


def casts(sql):
    out, i = [], 0
    while True:
        j = sql.upper().find("CAST(", i)
        if j < 0 or (j > 0 and (sql[j - 1].isalnum() or sql[j - 1] == "_")):
            if j < 0:
                out.append(sql[i:])
                return "".join(out)
            out.append(sql[i:j + 5])
            i = j + 5
            continue
        k = matching(sql, j + 4)
        expr, typ = split_as(sql[j + 5:k])
        expr = casts(expr)
        t = typ.upper()
        if t == "INT" and is_date(expr):
            new = f"date_diff('day', DATE '1970-01-01', {expr})"
        elif t == "DATE" and ("date_diff(" in expr or "//" in expr or re.search(r"\d\)?\s*$", expr)):
            new = f"(DATE '1970-01-01' + CAST({expr} AS INTEGER))"
        elif t == "BIGINT" and re.search(r"\bts$", expr.strip()):
            new = f"epoch_us({expr})"
        else:
            new = f"CAST({expr} AS {typ})"
        out.append(sql[i:j] + new)
        i = k + 1


def strip_comment(line):
    quote = False
    for i, c in enumerate(line):
        if c == "'":
            quote = not quote
        elif not quote and line[i:i + 2] == "--":
            return line[:i]
    return line


class Literal(str):
    """A parameter written into SQL as it is (a number of parameters.csv)."""


def local_days(sql):
    """`local_day(x)`: the local (UTC+8) date of a timestamp, or of UTC microseconds."""
    out, i = [], 0
    while (j := sql.find("local_day(", i)) >= 0:
        k = matching(sql, j + len("local_day"))
        arg = sql[j + len("local_day("):k]
        ts = f"make_timestamp({arg})" if arg.strip().endswith("_us") else f"CAST({arg} AS TIMESTAMP)"
        out.append(sql[i:j] + f"CAST({ts} + INTERVAL 8 HOUR AS DATE)")
        i = k + 1
    return "".join(out) + sql[i:]


def translate(sql, params):
    sql = "\n".join(strip_comment(line) for line in sql.splitlines())
    for k in sorted(params, key=len, reverse=True):
        v = params[k]
        if isinstance(v, dt.date):
            lit = f"DATE '{v}'"
        elif isinstance(v, Literal) or not isinstance(v, str):
            lit = str(v)
        else:
            lit = f"'{v}'"
        sql = sql.replace("$" + k, lit)
    sql = local_days(sql)
    sql = sql.replace("/ 86400000000", "// 86400000000")
    sql = re.sub(r"/\s*CASE WHEN d\.kind", "// CASE WHEN d.kind", sql)
    sql = casts(sql)
    sql = sql.replace("arrow_cast(make_array(), 'List(Utf8)')", "CAST([] AS VARCHAR[])")
    sql = sql.replace("make_array(", "list_value(")
    return sql


RULES = {row["key"]: Literal(row["value"]) for row in csv.DictReader(open(SQL / "rules" / "parameters.csv"))}


def params(day):
    mid = lambda d: ((d - DAY0).days * 86400 - 8 * 3600) * 1_000_000
    window = int(RULES["iot_window_days"])
    return {
        **RULES,
        "as_of": day,
        "as_of_day": (day - DAY0).days,
        "iot_window_start_us": mid(day - dt.timedelta(days=window - 1)),
        "iot_window_end_us": mid(day + dt.timedelta(days=1)),
        "rules_version": "gd-2026.2",
        "rules_sha256": "",
        "model_version": "",
    }


class Duck:
    def __init__(self, lake, threads, memory, out):
        self.con = duckdb.connect()
        self.con.execute(f"SET threads = {threads}")
        self.con.execute(f"SET memory_limit = '{memory}'")
        self.con.execute("SET TimeZone = 'UTC'")
        self.out = out
        # The lake's Delta tables at their latest version: the files the Delta log lists (a
        # folder may hold superseded files until `lake vacuum`), read by delta-rs's Python
        # package since DuckDB's delta extension is not on PyPI.
        for root in sorted(p for p in (lake / "tables").iterdir() if p.name != "ingest_log"):
            name = root.name
            files = DeltaTable(str(root)).file_uris()
            paths = ", ".join(f"'{f}'" for f in files)
            if paths:
                self.con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{paths}])")
        for name in ["violations", "bonuses", "classes", "hazard_elements", "penalty_bands"]:
            self.con.execute(
                f"CREATE TABLE rule_{name} AS SELECT * FROM read_csv('{SQL / 'rules' / (name + '.csv')}', header = true)")
        self.con.execute("CREATE TABLE previous_major_hazard_units (unit_id VARCHAR)")

    def step(self, name, file, p, schema="main"):
        sql = translate((SQL / file).read_text(), p)
        target = self.out / f"{schema}_{name}.parquet"
        started = time.perf_counter()
        self.con.execute(f"COPY ({sql}) TO '{target}' (FORMAT parquet)")
        seconds = time.perf_counter() - started
        self.con.execute(f"CREATE OR REPLACE VIEW {schema}.{name} AS SELECT * FROM read_parquet('{target}')")
        return seconds

    def view(self, name, file, p, schema="main"):
        sql = translate((SQL / file).read_text(), p)
        self.con.execute(f"CREATE OR REPLACE VIEW {schema}.{name} AS {sql}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("firecredit")
    ap.add_argument("lake", type=Path)
    ap.add_argument("as_of")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default="6G")
    a = ap.parse_args()
    day = dt.date.fromisoformat(a.as_of)

    subprocess.run([a.firecredit, "--log", "error", "run", "--lake", str(a.lake), "--as-of", a.as_of,
                    "--partitions", str(a.threads), "--memory-limit", a.memory_limit],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = json.loads((a.lake / "runs" / a.as_of / "manifest.json").read_text())
    ours = {t["stage"]: t["seconds"] for t in manifest["stage_timings"]}
    our_rows = {o["name"]: o["rows"] for o in manifest["outputs"] if o["format"] == "parquet"}

    with tempfile.TemporaryDirectory() as tmp:
        d = Duck(a.lake, a.threads, a.memory_limit, Path(tmp))
        p = params(day)
        d.view("voided_events", "common/voided_events.sql", p)
        d.view("open_units", "common/open_units.sql", p)
        theirs = {}
        for name in ["iot_intervals", "device_downtime", "hazard_elements", "major_hazard_units"]:
            theirs[f"hazard.{name}"] = d.step(name, f"hazard/{name}.sql", p)
        theirs["credit.credit_ledger"] = d.step("credit_ledger", "credit/credit_ledger.sql", p)
        d.view("credit_points", "credit/credit_points.sql", p)
        # Credit status at each cutoff: the past days' steps as views in their own schema.
        started = time.perf_counter()
        parts = []
        for back in (730, 365):
            s = f"d{back}"
            q = params(day - dt.timedelta(days=back))
            d.con.execute(f"CREATE SCHEMA {s}")
            d.con.execute(f"SET search_path = '{s},main'")
            d.view("voided_events", "common/voided_events.sql", q, s)
            d.view("open_units", "common/open_units.sql", q, s)
            for name in ["device_downtime", "hazard_elements", "major_hazard_units"]:
                d.view(name, f"hazard/{name}.sql", q, s)
            d.view("credit_ledger", "credit/credit_ledger.sql", q, s)
            d.view("credit_points", "credit/credit_points.sql", q, s)
            d.con.execute(f"CREATE TABLE {s}.status AS {translate((SQL / 'status/unit_status.sql').read_text(), q)}")
            parts.append(f"SELECT * FROM {s}.status")
            d.con.execute("SET search_path = 'main'")
        d.con.execute(f"CREATE TABLE unit_status AS {' UNION ALL '.join(parts)} UNION ALL "
                      f"SELECT * FROM ({translate((SQL / 'status/unit_status.sql').read_text(), p)})")
        theirs["status.unit_status"] = time.perf_counter() - started
        days = [day - dt.timedelta(days=730), day - dt.timedelta(days=365), day]
        rows = ", ".join(f"(DATE '{c}', {(c - DAY0).days}, {params(c)['iot_window_end_us']}, {str(c + dt.timedelta(days=365) <= day).lower()})" for c in days)
        d.con.execute(f"CREATE TABLE cutoffs AS SELECT * FROM (VALUES {rows}) t(cutoff, cutoff_day, cutoff_end_us, labelled)")
        theirs["risk.features"] = d.step("features", "risk/features.sql", p)
        # The translation must not change results: equal row counts for every step.
        for stage in theirs:
            name = stage.split(".")[1]
            if name in our_rows:
                n = d.con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                if n != our_rows[name]:
                    sys.exit(f"{name}: DuckDB {n} rows, firecredit {our_rows[name]}")

    print(f"{'stage':28s} {'firecredit':>11s} {'DuckDB':>9s} {'ratio':>7s}")
    total_ours = total_theirs = 0.0
    for stage, t in theirs.items():
        o = ours.get(stage, float("nan"))
        total_ours += o
        total_theirs += t
        print(f"{stage:28s} {o:10.2f}s {t:8.2f}s {o / t:6.2f}x")
    print(f"{'sum':28s} {total_ours:10.2f}s {total_theirs:8.2f}s {total_ours / total_theirs:6.2f}x")
    print(f"(ratio = firecredit / DuckDB; DuckDB {duckdb.__version__}, {a.threads} threads each)")


if __name__ == "__main__":
    sys.exit(main())
