#!/usr/bin/env python3
"""Stage by stage beside DuckDB, on the same lake Parquet and the same SQL statements.

Usage: duckdb_stages.py FIRECREDIT LAKE AS_OF [--threads 2] [--memory-limit 6G]
       pip install duckdb deltalake

1. Runs `FIRECREDIT run --full --lake LAKE --as-of AS_OF` with `FIRECREDIT_PROFILE_DIR` set, so that
   each published step also leaves the statement it ran (`<step>.sql`, the fitted model
   compiled in) and its bound parameters; each step's time is read from the new manifest (each
   firecredit step executes its SQL and writes its Parquet output).
2. The steps that read the lake (the hazard steps with the IoT intervals, the credit ledger,
   the credit status at the two past cutoffs as `status.unit_status`, and the features) run in
   DuckDB as a chain, each as `COPY (<sql>) TO '<step>.parquet'` read back as a view by the steps
   after it, like firecredit does, with the same thread count.
3. Every later SQL step (risk scores, credit cases, unit scores and the lists, high-risk areas,
   supervision, enforcement, the feed, the district summary and the plan's SQL steps) runs in
   DuckDB on firecredit's own published inputs of that run (the model's scores, the plan's
   strata and the other steps computed in Rust are inputs here, not steps), each once, with the
   statement firecredit ran.
4. Prints both times and the ratio per step, and the sums. A step whose table firecredit also
   publishes as CSV or NDJSON is timed in DuckDB with those files written too (from its
   Parquet).

The SQL is translated mechanically for DuckDB's dialect only: parameters become literals
(decimals staying exact); day numbers (`CAST(date AS INT)`, `CAST(int AS DATE)`) become date
arithmetic; `CAST(ts AS BIGINT)` becomes `epoch_us(ts)`; `local_day(x)` becomes the date at
UTC+8; integer division is `//`; `make_array` is `list_value`, `array_element` is
`array_extract`, `arrow_cast(x, 'Utf8')` a cast to VARCHAR, the ordered aggregate
`first_value(x ORDER BY …)` is `first(x ORDER BY …)`; `draw_u`, `plain_number` and the
aggregate `union_length` are DuckDB macros computing the same values, and the window function
`next_closing` becomes the window aggregate that computes its values in DuckDB. Each step's
row count must equal firecredit's.
"""
import argparse
import csv
import datetime as dt
import json
import os
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
    return (bool(re.search(r"(_on|_due|_date|since|\bcutoff)\)?$", e)) or e.endswith("AS DATE)")
            or "DATE '" in e)


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


def top_level_split(inner, sep=","):
    """`inner` split at `sep` outside parentheses and quotes."""
    cuts = [i for i, c, depth in scan(inner) if depth == 0 and c == sep]
    return [inner[a + 1:b].strip() for a, b in zip([-1] + cuts, cuts + [len(inner)])]


def window_functions(sql):
    """The project's window function (pipeline/src/engine/functions/window.rs) as the window
    aggregate DuckDB runs fast, computing the same values: `next_closing(ts, closes, state)
    OVER (PARTITION BY p ORDER BY ...)` is a running minimum of the closings in reverse time
    order per (p, state)."""
    out, i = [], 0
    while (m := re.search(r"\bnext_closing\(", sql[i:])):
        j = i + m.start()
        k = matching(sql, j + len("next_closing"))
        ts, closes, state = top_level_split(sql[j + len("next_closing") + 1:k])
        over = re.match(r"\s*OVER\s*\(", sql[k + 1:])
        end = matching(sql, k + over.end())
        window = sql[k + over.end() + 1:end]
        part = re.match(r"\s*PARTITION BY (.*?)\s+ORDER BY (.*)", window, re.S).group(1)
        new = (f"MIN(CASE WHEN {closes} = 1 THEN {ts} END) OVER (PARTITION BY {part}, {state} "
               f"ORDER BY {ts} DESC, {closes} DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)")
        out.append(sql[i:j] + new)
        i = end + 1
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
    sql = window_functions(sql)
    sql = sql.replace("/ 86400000000", "// 86400000000")
    sql = re.sub(r"/\s*CASE WHEN d\.kind", "// CASE WHEN d.kind", sql)
    sql = casts(sql)
    sql = sql.replace("arrow_cast(make_array(), 'List(Utf8)')", "CAST([] AS VARCHAR[])")
    sql = arrow_casts(sql)
    sql = sql.replace("make_array(", "list_value(")
    sql = sql.replace("array_element(", "array_extract(")
    # An ordered aggregate `first_value(x ORDER BY …)` is DuckDB's `first(x ORDER BY …)`.
    sql = re.sub(r"\bfirst_value\(([^()]*\bORDER BY\b[^()]*)\)", r"first(\1)", sql)
    return sql


def arrow_casts(sql):
    """`arrow_cast(x, 'Utf8')` is a cast to VARCHAR."""
    out, i = [], 0
    while (j := sql.find("arrow_cast(", i)) >= 0:
        k = matching(sql, j + len("arrow_cast"))
        inner = sql[j + len("arrow_cast("):k]
        comma = max(n for n, c, depth in scan(inner) if depth == 0 and c == ",")
        typ = inner[comma + 1:].strip()
        if typ != "'Utf8'":
            raise ValueError(f"arrow_cast to {typ}")
        out.append(sql[i:j] + f"CAST({arrow_casts(inner[:comma])} AS VARCHAR)")
        i = k + 1
    return "".join(out) + sql[i:]


# The project's scalar and aggregate functions (pipeline/src/engine/functions/) as DuckDB
# macros.
MACROS = [
    # u(text) = (first 8 bytes of SHA-256(text), big-endian, + 0.5) / 2^64.
    "CREATE MACRO draw_u(t) AS CAST(('0x' || substr(sha256(t), 1, 8)) AS UBIGINT) / 4294967296.0"
    " + (CAST(('0x' || substr(sha256(t), 9, 8)) AS UBIGINT) + 0.5) / 18446744073709551616.0",
    # A number without a trailing `.0`.
    "CREATE MACRO plain_number(x) AS regexp_replace(CAST(x AS VARCHAR), '\\.0$', '')",
    # The length of the union of a group's intervals [s, e): its intervals sorted, each adding
    # the part of it after the largest end before it (the first, its whole length).
    "CREATE MACRO union_length(s, e) AS list_reduce(list_sort(list({'s': s, 'e': e, 't': GREATEST(e - s, 0)})"
    " FILTER (WHERE s IS NOT NULL AND e IS NOT NULL)), lambda a, x: {'s': a.s, 'e': GREATEST(a.e, x.e),"
    " 't': a.t + GREATEST(x.e - GREATEST(x.s, a.e), 0)}).t",
]


def literal(typ, value):
    """A parameter of `<step>.params.json` (`[Arrow type, text]`) as a DuckDB literal."""
    if value is None:
        return Literal("NULL")
    if typ == "Date32":
        return Literal(f"DATE '{value}'")
    if typ in ("Utf8", "LargeUtf8", "Utf8View"):
        return Literal("'" + value.replace("'", "''") + "'")
    return Literal(value)


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
    def __init__(self, lake, threads, memory, out, formats):
        self.formats = formats
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
        for m in MACROS:
            self.con.execute(m)

    def step(self, name, file, p, schema="main"):
        seconds = self.copy(name, translate((SQL / file).read_text(), p), schema)
        target = self.out / f"{schema}_{name}.parquet"
        self.con.execute(f"CREATE OR REPLACE VIEW {schema}.{name} AS SELECT * FROM read_parquet('{target}')")
        return seconds

    def copy(self, name, sql, schema="main"):
        """Runs `sql` once into `<schema>_<name>.parquet`, and writes that as CSV and NDJSON
        where firecredit publishes those too; the seconds of it all."""
        target = self.out / f"{schema}_{name}.parquet"
        started = time.perf_counter()
        self.con.execute(f"COPY ({sql}) TO '{target}' (FORMAT parquet)")
        for fmt, options in [("csv", "FORMAT csv, HEADER"), ("ndjson", "FORMAT json")]:
            if fmt in self.formats.get(name, ()):
                self.con.execute(f"COPY (SELECT * FROM read_parquet('{target}')) "
                                 f"TO '{target.with_suffix('.' + fmt)}' ({options})")
        return time.perf_counter() - started

    def rows(self, name, schema="main"):
        target = self.out / f"{schema}_{name}.parquet"
        return self.con.execute(f"SELECT count(*) FROM read_parquet('{target}')").fetchone()[0]

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
    ap.add_argument("--statements", type=Path,
                    help="keep firecredit's statements here (default: a temporary folder)")
    ap.add_argument("--skip-run", action="store_true",
                    help="time DuckDB only, against the lake's last run and the statements it "
                         "left in --statements")
    a = ap.parse_args()
    day = dt.date.fromisoformat(a.as_of)

    previous = previous_outputs(a.lake, a.as_of)
    with tempfile.TemporaryDirectory() as tmp:
        statements = a.statements or Path(tmp) / "statements"
        if not a.skip_run:
            # `--full`: DuckDB computes every step from the lake, so firecredit takes nothing
            # over from an earlier run of the lake either (the IoT intervals are carried
            # otherwise, decision 130).
            subprocess.run([a.firecredit, "--log", "error", "run", "--full", "--lake", str(a.lake),
                            "--as-of", a.as_of, "--partitions", str(a.threads),
                            "--memory-limit", a.memory_limit],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env={**os.environ, "FIRECREDIT_PROFILE_DIR": str(statements)})
        manifest = json.loads((a.lake / "runs" / a.as_of / "manifest.json").read_text())
        ours = {t["stage"]: t["seconds"] for t in manifest["stage_timings"]}
        our_rows = {o["name"]: o["rows"] for o in manifest["outputs"] if o["format"] == "parquet"}
        formats = {}
        for o in manifest["outputs"]:
            formats.setdefault(o["name"], set()).add(o["format"])
        theirs = lake_stages(a, day, Path(tmp) / "lake_stages", our_rows, formats)
        theirs.update(run_stages(a, manifest, previous, statements, Path(tmp) / "run_stages",
                                 our_rows, formats))
    report(ours, theirs, a.threads)


def lake_stages(a, day, out, our_rows, formats):
    """The steps that read the lake, chained on DuckDB's own outputs."""
    out.mkdir()
    d = Duck(a.lake, a.threads, a.memory_limit, out, formats)
    p = params(day)
    d.view("voided_events", "common/voided_events.sql", p)
    d.view("open_units", "common/open_units.sql", p)
    d.view("iot_transitions", "common/iot_transitions.sql", p)
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
    # As `features::cutoff_days_table` registers it: the 1095 local days to each cutoff.
    d.con.execute("CREATE TABLE cutoff_days AS SELECT c.cutoff, c.cutoff - CAST(b AS INTEGER) AS day, "
                  "b AS days_back FROM cutoffs c, range(0, 1095) r(b)")
    theirs["risk.features"] = d.step("features", "risk/features.sql", p)
    # The translation must not change results: equal row counts for every step.
    for stage in theirs:
        name = stage.split(".")[1]
        if name in our_rows:
            n = d.con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            if n != our_rows[name]:
                sys.exit(f"{name}: DuckDB {n} rows, firecredit {our_rows[name]}")
    return theirs


# The steps `lake_stages` runs.
LAKE_STAGES = {"hazard.iot_intervals", "hazard.device_downtime", "hazard.hazard_elements",
               "hazard.major_hazard_units", "credit.credit_ledger", "status.unit_status",
               "risk.features"}

# Steps whose input firecredit computes in Rust and keeps in memory.
UNPUBLISHED_INPUTS = {"inspection_plan": "plan_assignments (the inspectors' assignment)"}

# The views the later steps read (not published, so not dumped with the steps).
RUN_VIEWS = ["common/voided_events", "common/open_units", "credit/credit_points", "risk/risk_levels"]


def previous_outputs(lake, as_of):
    """The Parquet outputs of the newest published day before `as_of` (the run's `previous`)."""
    days = sorted(p.name for p in (lake / "runs").iterdir() if p.is_dir() and p.name < as_of)
    for day in reversed(days):
        path = lake / "runs" / day / "manifest.json"
        if path.exists():
            m = json.loads(path.read_text())
            return m["as_of"], {o["name"]: lake / o["path"] for o in m["outputs"] if o["format"] == "parquet"}
    return None, {}


def run_stages(a, manifest, previous, statements, out, our_rows, formats):
    """Every later SQL step, once each, on firecredit's published inputs of the same run."""
    out.mkdir()
    d = Duck(a.lake, a.threads, a.memory_limit, out, formats)
    d.con.execute("DROP TABLE previous_major_hazard_units")
    published = {o["name"]: a.lake / o["path"] for o in manifest["outputs"] if o["format"] == "parquet"}
    for name, path in published.items():
        d.con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    previous_as_of, previous_files = previous
    d.con.execute("CREATE TABLE previous_run (as_of DATE)")
    if previous_as_of:
        d.con.execute(f"INSERT INTO previous_run VALUES (DATE '{previous_as_of}')")
    for name in ["major_hazard_units", "hazard_supervision", "area_supervision", "unit_scores"]:
        source = previous_files.get(name)
        query = f"read_parquet('{source}')" if source else f"(SELECT * FROM {name} WHERE false)"
        d.con.execute(f"CREATE VIEW previous_{name} AS SELECT * FROM {query}")
    # The plan's campaign (none in a run without `--campaign`).
    d.con.execute("CREATE TABLE campaign (use_type VARCHAR, multiplier VARCHAR, m_num UBIGINT, "
                  "m_den UBIGINT)")
    p = params(dt.date.fromisoformat(a.as_of))
    for view in RUN_VIEWS:
        d.view(view.split("/")[1], f"{view}.sql", p)
    theirs = {}
    for timing in manifest["stage_timings"]:
        stage = timing["stage"]
        name = stage.split(".")[-1]
        if stage in LAKE_STAGES or not (statements / f"{name}.sql").exists():
            continue  # read from the lake (above), or not SQL (the fit, the report, the draw)
        if name in UNPUBLISHED_INPUTS:
            print(f"{stage}: not timed, its input {UNPUBLISHED_INPUTS[name]} is not published",
                  file=sys.stderr)
            continue
        bound = json.loads((statements / f"{name}.params.json").read_text())
        q = {k: literal(typ, value) for k, (typ, value) in bound.items()}
        theirs[stage] = d.copy(name, translate((statements / f"{name}.sql").read_text(), q))
        n = d.rows(name)
        if n != our_rows.get(name):
            sys.exit(f"{name}: DuckDB {n} rows, firecredit {our_rows.get(name)}")
    return theirs


def report(ours, theirs, threads):
    print(f"{'stage':34s} {'firecredit':>11s} {'DuckDB':>9s} {'ratio':>7s}")
    total_ours = total_theirs = 0.0
    for stage, t in theirs.items():
        o = ours.get(stage, float("nan"))
        total_ours += o
        total_theirs += t
        print(f"{stage:34s} {o:10.2f}s {t:8.2f}s {o / t:6.2f}x")
    print(f"{'sum':34s} {total_ours:10.2f}s {total_theirs:8.2f}s {total_ours / total_theirs:6.2f}x")
    print(f"(ratio = firecredit / DuckDB; DuckDB {duckdb.__version__}, {threads} threads each)")


if __name__ == "__main__":
    sys.exit(main())
