#!/usr/bin/env python3
"""Side-by-side with scikit-learn on firecredit's own exported feature table.

Usage: sklearn_compare.py RUN_DIR      (RUN_DIR = LAKE/runs/<as_of>/<run_id>)
       pip install scikit-learn pyarrow

Reads RUN_DIR/features.parquet and RUN_DIR/model_report.json, fits scikit-learn's
LogisticRegression and HistGradientBoostingClassifier with firecredit's backtest split (train at
as_of-730, test at as_of-365, open units, `f_*` columns), and prints each model's test AUC and
fit time beside firecredit's, then firecredit's calibration and, for a generated inbox, the
withheld next year.
"""
import json
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

run = Path(sys.argv[1])
report = json.loads((run / "model_report.json").read_text())
table = pq.read_table(run / "features.parquet")
names = [n for n in table.column_names if n.startswith("f_")]
cutoff = np.array(table.column("cutoff").to_pylist())
is_open = np.array(table.column("open").to_pylist(), dtype=bool)
label = np.array([bool(v) if v is not None else False for v in table.column("label").to_pylist()])
x = np.column_stack([np.asarray(table.column(n).to_numpy(), dtype=float) for n in names])


def part(day):
    mask = (cutoff == np.datetime64(day).astype(object)) & is_open
    return x[mask], label[mask]


x_train, y_train = part(report["backtest_train_cutoff"])
x_test, y_test = part(report["backtest_test_cutoff"])
print(f"train {len(y_train)} rows ({int(y_train.sum())} fires), test {len(y_test)} rows ({int(y_test.sum())} fires), {len(names)} features")
rows = []
for name, model in [
    ("sklearn LogisticRegression", make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))),
    ("sklearn HistGradientBoosting", HistGradientBoostingClassifier(random_state=0)),
]:
    start = time.perf_counter()
    model.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    auc = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])
    rows.append((name, auc, seconds))
    print(f"{name:32s} AUC {auc:.4f}  fit {seconds:7.2f} s")
for c in report.get("candidates", []):
    print(f"{'firecredit candidate ' + c['kind']:32s} AUC {c['auc']:.4f}")
ours = report["auc"]
print(f"{'firecredit chosen ' + report['model_kind']:32s} AUC {ours:.4f}  (fit time in the run manifest: risk.fit)")
hgb = rows[1][1]
print(f"firecredit - sklearn HistGradientBoosting = {ours - hgb:+.4f}  (target: ≥ 0)")
if report.get("oracle_auc"):
    print(f"oracle AUC {report['oracle_auc']:.4f}; firecredit / oracle = {ours / report['oracle_auc']:.4f} (target ≥ 0.985)")
c = report.get("calibration", {})
if "drift" in c:
    print(f"calibration: slope {c['published']['a']:.4f}, anchor {c['anchor']:.4f}, drift {c['drift']:+.4f}")
w = report.get("withheld_year")
if w:
    m, o = w["model"], w["oracle"]
    print(f"withheld year after {w['as_of']}: {m['rows']} units, observed {m['observed_rate']:.5f}; "
          f"firecredit mean {m['mean_predicted']:.5f} (ratio {m['ratio']:.3f}, target 0.85-1.15), "
          f"slope {m['slope']:.3f} (target 0.8-1.25), Brier {m['brier']:.5f}, AUC {m['auc']:.4f}; "
          f"oracle ratio {o['ratio']:.3f}, slope {o['slope']:.3f}, AUC {o['auc']:.4f}")
