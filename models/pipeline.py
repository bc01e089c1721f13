"""One training run end to end: read the matrix, train and validate, log everything to MLflow, register.

What is logged: the experiment and its parameters, the data fingerprint, per-split metrics for the model,
the baselines and (on a synthetic borough) the oracle, the plots, the feature dictionary, and the model
with its signature and a made-up input example. No household key or personal data is logged.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import mlflow
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from features.dictionary import to_json
from models import learner, metrics, plots, tracking
from models.baselines import RULE_COLUMNS, RULES
from models.experiment import Experiment
from models.train import Oracle, TrainingResult, train

SUMMARY_METRICS = ("auc", "average_precision", "brier", "calibration_error", "calibration_floor", "lift_top1pct",
                   "precision_at_k", "recall_at_k")
SKILL_METRICS = ("auc_skill", "precision_ratio", "precision_vs_rule")


@dataclass
class RunSummary:
    run_id: str
    registered_name: str
    version: str
    result: TrainingResult


def read_matrix(path: Path, exp: Experiment) -> tuple[pd.DataFrame, pd.Series]:
    """Only the columns the experiment needs, only the rows with an observed label; and the number of
    resident households at each as-of date."""
    columns = list(dict.fromkeys(["household_key", "as_of", exp.label, *exp.features, *RULE_COLUMNS]))
    dataset = ds.dataset(Path(path), format="parquet")
    missing = sorted(set(columns) - set(dataset.schema.names))
    if missing:
        raise ValueError(f"{path} lacks columns {missing}: rebuild it with `upstream features`")
    table = _compact(dataset.to_table(columns=columns, filter=ds.field(exp.label).is_valid()))
    residents = dataset.to_table(columns=["as_of"]).to_pandas()["as_of"].value_counts().sort_index()
    return table.to_pandas(), residents


def _compact(table: pa.Table) -> pa.Table:
    """Numbers as float32: half the memory, and LightGBM bins them anyway (the keys and the ward stay)."""
    numeric = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal)
    return table.cast(pa.schema([pa.field(f.name, pa.float32()) if any(t(f.type) for t in numeric) else f
                                 for f in table.schema]))


def held_out_path(registered_name: str, version: str) -> Path:
    """Where a version's held-out test predictions are kept: under $UPSTREAM_HOME, never in MLflow, because
    they are keyed by household pseudonyms. The ethics report reads them."""
    from upstream.config import home

    return home() / "held-out" / f"{registered_name}-v{version}.parquet"


def _save_held_out(result: TrainingResult, exp: Experiment, path: Path) -> Path:
    """Every test-window row: key, as-of date, split, label, calibrated score, ranking score and the month's
    capacity in rows (capacity scaled to the labelled share, as the metrics use it)."""
    scored = result.predictions
    capacity = metrics.capacity_by_month(result.share, exp.capacity)
    frame = pd.DataFrame({"household_key": scored["household_key"], "as_of": scored["as_of"],
                          "split": scored["split"], "label": scored[exp.label].astype("int8"),
                          "score": scored["model"], "rank_score": scored["model_rank"],
                          "capacity_rows": scored["as_of"].map(capacity).astype("int64")})
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def _slug(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_\-. /]", "_", name).replace(" ", "_")


def _log_metrics(result: TrainingResult):
    metrics = {}
    for row in result.metrics.to_dict("records"):
        for key in (*SUMMARY_METRICS, *SKILL_METRICS):
            if key in row and pd.notna(row[key]):
                metrics[f"{_slug(row['split'])}.{row['scorer']}.{key}"] = row[key]
    for scorer in ("model", "rule", "logistic", "oracle"):  # the latest split, as headline figures
        latest = result.latest(scorer)
        for key in (*SUMMARY_METRICS, *SKILL_METRICS):
            if key in latest and pd.notna(latest[key]):
                metrics[key if scorer == "model" else f"{scorer}.{key}"] = latest[key]
    mlflow.log_metrics({k: float(v) for k, v in metrics.items()})


def _params(exp: Experiment, result: TrainingResult, fingerprint: str, rows: int) -> dict:
    return {
        "target": exp.target, "label_window_months": exp.window, "capacity": exp.capacity,
        "feature_groups": ",".join(exp.feature_groups), "features": len(exp.features),
        "calibration": exp.calibration, "calibration_folds": exp.calibration_folds, "negative_sample": exp.negative_sample, "seed": exp.seed,
        "splits": len(result.splits), "test_months": exp.splits.test_months,
        "calibration_months": exp.splits.calibration_months, "rule": RULES[exp.target],
        "data_fingerprint": fingerprint, "labelled_rows": rows,
        "train_months": len(result.production.train),
        "production_train": result.production.describe()["train"],
        "production_calibration": result.production.describe()["calibration"],
        **{f"lgbm.{k}": v for k, v in result.model.params.items()},
        "lgbm.trees": learner.trees_used(result.model.booster),
    }


def run(matrix_path: Path, exp: Experiment, fingerprint: str, oracle: Oracle | None = None,
        progress: Callable[[str], None] = lambda _: None) -> RunSummary:
    tracking.configure()
    progress("reading the feature matrix")
    matrix, residents = read_matrix(matrix_path, exp)
    with tracking.start_run(exp.name, f"{exp.name}-{fingerprint[:8]}") as active:
        mlflow.set_tags({"upstream.target": exp.target, "upstream.data_fingerprint": fingerprint,
                         "upstream.oracle": str(oracle is not None)})
        result = train(matrix, exp, oracle, progress, residents)
        progress("logging to MLflow")
        mlflow.log_params(_params(exp, result, fingerprint, len(matrix)))
        _log_metrics(result)
        mlflow.log_table(result.metrics, "metrics/splits.json")
        mlflow.log_text(result.metrics.to_csv(index=False), "metrics/splits.csv")
        tracking.log_json(result.search, "metrics/search.json")
        tracking.log_json({s.name: s.describe() for s in [*result.splits, result.production]}, "splits.json")
        tracking.log_yaml(exp.model_dump(mode="json"), "experiment.yaml")
        mlflow.log_text(to_json(), "features.json")
        latest = result.predictions[result.predictions["split"] == result.splits[-1].name]
        for name, fig in plots.all_figures(latest, result.predictions, exp.label, exp.capacity,
                                                 result.share).items():
            mlflow.log_figure(fig, f"plots/{name}")
            plt.close(fig)
        progress("registering the model")
        result.model.info["data_fingerprint"] = fingerprint
        example = tracking.input_example(result.model, matrix)
        version = tracking.log_model(result.model, example, exp.registered_name)
        mlflow.set_tag("upstream.registered_version", f"{exp.registered_name}/{version}")
        _save_held_out(result, exp, held_out_path(exp.registered_name, version))
        return RunSummary(active.info.run_id, exp.registered_name, version, result)
