"""Evaluate a registered version on months it has never seen: labelled as-of dates from its first usable
month on (a later extract than it was trained on), against the rule and, on a synthetic borough, the oracle.
"""
from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd

from models import metrics, tracking
from models.experiment import REGISTERED_NAMES, Experiment
from models.pipeline import SUMMARY_METRICS, read_matrix
from models.train import Oracle, score_test, scorer_metrics


def evaluate_version(matrix_path: Path, target: str, version: str | None, fingerprint: str,
                     oracle: Oracle | None = None, capacity: int | None = None) -> tuple[str, pd.DataFrame]:
    tracking.configure()
    name = REGISTERED_NAMES[target]
    version = tracking.resolve_version(name, version)
    model = tracking.load_model(name, version)
    exp = Experiment(name=f"{target}-evaluation", target=target, capacity=capacity or model.info.get("capacity", 250))
    matrix, residents = read_matrix(matrix_path, exp)
    first = pd.Timestamp(model.info.get("first_usable_as_of", "1900-01-01"))
    test = matrix[matrix["as_of"] >= first].astype({exp.label: "int64"})
    if test.empty:
        raise ValueError(f"{name} version {version} can be evaluated only on as-of months from {first:%Y-%m} on (it "
                         "was fitted on the labels of earlier ones), and these extracts have none whose label is "
                         "known yet: evaluate it on a later extract")
    k = metrics.capacity_by_month(metrics.labelled_share(test, residents), exp.capacity)
    rows = scorer_metrics(score_test(exp, model, test, oracle), exp.label, k)
    table = pd.DataFrame(rows)
    table.attrs |= {"capacity": exp.capacity, "months": f"{test['as_of'].min():%Y-%m} to {test['as_of'].max():%Y-%m}"}
    with tracking.start_run(exp.name, f"evaluate {name} v{version}"):
        mlflow.set_tags({"upstream.kind": "evaluation", "upstream.target": target,
                         "upstream.model": f"{name}/{version}", "upstream.data_fingerprint": fingerprint})
        mlflow.log_params({"model_version": version, "capacity": exp.capacity, "test": table.attrs["months"]})
        mlflow.log_metrics({f"{r['scorer']}.{m}": float(r[m]) for r in rows for m in SUMMARY_METRICS
                            if pd.notna(r[m])})
        mlflow.log_text(table.to_csv(index=False), "metrics/evaluation.csv")
    return version, table
