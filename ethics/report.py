"""The report for one registered model version: fairness, explanations, model card and ATRS record.

`fairness.json` holds every fairness and mitigation number; `predictions.parquet` holds what they were
computed from (the pseudonymous household key, as-of date, score, label, selected flag and one column per
group attribute, named as in fairness.json), so anyone with access can recompute the figures.
`model_card.json` and `atrs.json` hold the card and the record; `report.html` (self-contained) and
`report.pdf` are what the board reads. All go to OUT. Everything but the twin goes to the version's MLflow
run (`report/`): the twin links pseudonyms to ethnicity, disability and other special-category data, so
MLflow gets its SHA-256 instead. The approval fingerprint covers the whole `report/` folder.

The held-out predictions are those of each rolling split's own model on its test months (models/train.py);
the registered model, refitted on every labelled month, has no held-out months of its own.
"""
from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import mlflow
import pandas as pd
import pyarrow.dataset as ds
from mlflow import MlflowClient

from ethics import render
from ethics.approval import REPORT_FOLDER
from ethics.card import VersionFacts, atrs_record, model_card
from ethics.fairness import fairness, selected_at_capacity, tenure
from ethics.importance import global_explanation
from ethics.mitigation import mitigation
from features.equality import ATTRIBUTES as RECORDED
from features.equality import NOT_RECORDED, equality_path

ATTRIBUTES = [*RECORDED, "tenure", "ward", "ethnicity_sex"]
MITIGATED = [*RECORDED, "tenure"]  # ward's and the intersections' groups are too small for a threshold each
MLFLOW_FILES = ("fairness.json", "predictions.sha256", "model_card.json", "atrs.json", "report.html", "report.pdf")
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
    frame["ethnicity_sex"] = _ethnicity_and_sex(frame["ethnicity"], frame["sex"])
    return frame


def _ethnicity_and_sex(ethnicity: pd.Series, sex: pd.Series) -> pd.Series:
    """'White British female'; with either unknown, 'Ethnicity not recorded, female' (not 'Not recorded
    female'), and with both, 'Not recorded'."""
    unknown = ethnicity.isna() | sex.isna()  # a row the equality file does not cover has no group
    ethnicity, sex = ethnicity.astype(object).where(~unknown, ""), sex.astype(object).where(~unknown, "")
    missing_ethnicity, missing_sex = ethnicity == NOT_RECORDED, sex == NOT_RECORDED
    both = ethnicity + " " + sex.str.lower()
    both = both.mask(missing_ethnicity, "Ethnicity not recorded, " + sex.str.lower())
    both = both.mask(missing_sex, ethnicity + ", sex not recorded")
    return both.mask(missing_ethnicity & missing_sex, NOT_RECORDED).mask(unknown)


def write_report(frame: pd.DataFrame, capacity: int, target: str, version: str, out: Path) -> dict:
    """fairness.json and its twin predictions.parquet (with predictions.sha256) in OUT; returns the numbers."""
    numbers = {"target": target, "model_version": version, **fairness(frame, ATTRIBUTES, capacity)}
    frame = frame.assign(selected=selected_at_capacity(frame))
    numbers["mitigation"] = [mitigation(frame, attribute, seed=i) for i, attribute in enumerate(MITIGATED)]
    out.mkdir(parents=True, exist_ok=True)
    (out / "fairness.json").write_text(json.dumps(numbers, indent=1))
    twin = frame[["household_key", "as_of", "score", "label", "selected", *ATTRIBUTES]]
    twin.to_parquet(out / "predictions.parquet", index=False)
    digest = hashlib.sha256((out / "predictions.parquet").read_bytes()).hexdigest()
    (out / "predictions.sha256").write_text(f"{digest}  predictions.parquet\n")
    return numbers


def version_facts(name: str, version: str, model, frame: pd.DataFrame, numbers: dict, matrix: Path) -> VersionFacts:
    """Everything the card, the ATRS record and the page say, from the version's run and its held-out rows."""
    client = MlflowClient()
    registered = client.get_model_version(name, version)
    run = client.get_run(registered.run_id)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=tmp))
        splits = json.loads((folder / "splits.json").read_text())
        split_metrics = pd.read_csv(folder / "metrics" / "splits.csv")
        plots = {p.name: p.read_bytes() for p in sorted((folder / "plots").glob("*.png"))}
    rows = _feature_rows(frame, model.features, matrix)
    explained = global_explanation(model, rows, rows["selected"].to_numpy())
    return VersionFacts(
        name=name, version=str(version), target=numbers["target"], run_id=run.info.run_id,
        created=f"{pd.Timestamp(registered.creation_timestamp, unit='ms'):%Y-%m-%d %H:%M} UTC",
        params=run.data.params, metrics=run.data.metrics, splits=splits, split_metrics=split_metrics,
        fairness=numbers, mitigation=numbers["mitigation"], importance=explained["importance"],
        flagged_vs_rest=explained["flagged_vs_rest"], shap_rows=explained["sample_rows"],
        plots={**plots, **explained["plots"]})


def _feature_rows(frame: pd.DataFrame, features: list[str], matrix: Path) -> pd.DataFrame:
    months = [pd.Timestamp(d).to_datetime64() for d in frame["as_of"].unique()]
    table = ds.dataset(matrix).to_table(columns=["household_key", "as_of", *features],
                                        filter=ds.field("as_of").isin(months)).to_pandas()
    flagged = frame.assign(selected=selected_at_capacity(frame))[["household_key", "as_of", "selected"]]
    return flagged.merge(table, on=["household_key", "as_of"], how="inner")


def write_documents(facts: VersionFacts, out: Path) -> list[Path]:
    """The model card and ATRS record as JSON, and the page as HTML and PDF, in OUT."""
    written = [out / "model_card.json", out / "atrs.json", out / "report.html", out / "report.pdf"]
    written[0].write_text(json.dumps({"model": facts.name, "version": facts.version, "sections": model_card(facts)},
                                     indent=1))
    written[1].write_text(json.dumps(atrs_record(facts), indent=1))
    page = render.html(facts)
    written[2].write_text(page)
    render.pdf(page, written[3])
    return written


def log_report(out: Path, run_id: str):
    """Everything but the twin goes to the version's run under report/; the twin's SHA-256 stands for it."""
    with mlflow.start_run(run_id=run_id):
        for name in MLFLOW_FILES:
            mlflow.log_artifact(str(out / name), REPORT_FOLDER)
