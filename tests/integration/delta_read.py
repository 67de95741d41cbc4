"""Reads Delta tables with the `deltalake` package (delta-rs's Python binding: a Delta reader
independent of firecredit's) and writes each table's rows to a Parquet file, for the tests to
compare with what firecredit reads.

usage: delta_read.py LAKE_URI OUT_DIR TABLE[@cdf=VERSION] ...

TABLE is a folder under the lake root (`tables/units`, `feed/scores`); with `@cdf=VERSION` the
table's change data feed from that version is written instead of its rows. Partition columns
are kept (the reader adds them from the Delta log). Each table goes to
OUT_DIR/<TABLE with / as __>.parquet. S3 settings come from the AWS_* environment.
"""

import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable


def plain(rows: pa.Table) -> pa.Table:
    """Decodes dictionaries and views to the plain Arrow types firecredit's tables use: the
    reader returns partition columns dictionary-encoded and may return string views."""
    fields = []
    for field in rows.schema:
        t = field.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if t in (pa.large_string(), pa.string_view()):
            t = pa.string()
        fields.append(field.with_type(t))
    return rows.cast(pa.schema(fields))


def main() -> None:
    root, out = sys.argv[1].rstrip("/"), sys.argv[2]
    options = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    for arg in sys.argv[3:]:
        table, _, cdf = arg.partition("@cdf=")
        dt = DeltaTable(f"{root}/{table}", storage_options=options or None)
        if cdf:
            rows = pa.table(dt.load_cdf(starting_version=int(cdf)))
        else:
            rows = dt.to_pyarrow_table()
        name = table.replace("/", "__") + ("@cdf" if cdf else "")
        pq.write_table(plain(rows), os.path.join(out, f"{name}.parquet"))


if __name__ == "__main__":
    main()
    # Every file is written and closed. The interpreter's teardown can abort the process
    # ("terminate called without an active exception", a C++ thread still joinable while the
    # native libraries unload: delta-rs issue 2184), one run in about forty when the machine
    # is busy; leaving without teardown keeps a finished read from failing.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
