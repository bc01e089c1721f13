"""The report for one registered model version: the fairness numbers and their machine-readable twins.

`fairness.json` holds every number; `predictions.parquet` holds what they were computed from (the
pseudonymous household key, as-of date, score, label, selected flag and one column per group attribute,
named as in fairness.json), so anyone with access can recompute the figures. Both go to OUT. Only the
numbers go to the version's MLflow run (`report/`): the twin links pseudonyms to ethnicity, disability
and other special-category data, so MLflow gets its SHA-256 instead, which the approval fingerprint covers.

The held-out predictions are those of each rolling split's own model on its test months (models/train.py);
the registered model, refitted on every labelled month, has no held-out months of its own.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import mlflow
import pandas as pd
import pyarrow.dataset as ds

from ethics.fairness import fairness, selected_at_capacity, tenure
from features.equality import ATTRIBUTES as RECORDED, equality_path

ATTRIBUTES = [*RECORDED, "tenure", "ward", "ethnicity_sex"]
RECORDED_TENURE = ["tenure_council", "tenure_housing_association", "tenure_private_rented"]


def report_frame(held_out: pd.DataFrame, matrix: Path) -> pd.DataFrame:
    """Held-out predictions with every group attribute, from the matrix the version was trained on."""
    months = [pd.Timestamp(d).to_datetime64() for d in held_out["as_of"].unique()]
    table = ds.dataset(matrix).to_table(columns=["household_key", "as_of", "ward", *RECORDED_TENURE],
                                        filter=ds.field("as_of").isin(months)).to_pandas()
    table["tenure"] = tenure(table)
    equality = pd.read_parquet(equality_path(matrix), filters=[("as_of", "in", months)])
    frame = held_out.merge(table[["household_key", "as_of", "ward", "tenure"]], on=["household_key", "as_of"],
                           how="left").merge(equality, on=["household_key", "as_of"], how="left")
    if frame["ward"].isna().mean() > 0.01:
        raise ValueError(f"{matrix} is not the feature matrix this version was trained on: pass the one it was "
                         "trained on with --features")
    frame["ethnicity_sex"] = frame["ethnicity"] + " " + frame["sex"].str.lower()
    return frame



def write_report(frame: pd.DataFrame, capacity: int, target: str, version: str, out: Path,
                 run_id: str | None = None) -> dict:
    numbers = {"target": target, "model_version": version, **fairness(frame, ATTRIBUTES, capacity)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "fairness.json").write_text(json.dumps(numbers, indent=1))
    twin = frame.assign(selected=selected_at_capacity(frame))[
        ["household_key", "as_of", "score", "label", "selected", *ATTRIBUTES]]
    twin.to_parquet(out / "predictions.parquet", index=False)
    digest = hashlib.sha256((out / "predictions.parquet").read_bytes()).hexdigest()
    (out / "predictions.sha256").write_text(f"{digest}  predictions.parquet\n")
    if run_id:
        with mlflow.start_run(run_id=run_id):
            mlflow.log_artifact(str(out / "fairness.json"), "report")
            mlflow.log_artifact(str(out / "predictions.sha256"), "report")
    return numbers
