"""Every registered model version as the ethics board and analysts see it: its registry entry, the board's
latest decision, whether it is served, its report files (from the version's MLflow run) and its metrics.

Reads what `models` and `ethics` publish (the registry, the runs' `report/` folders, the approvals store)
and decides only through `ethics.approval.decide`, the same gate as `upstream approve`.
"""
from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from models.experiment import REGISTERED_NAMES
from serving.api import MLFLOW_UI

TARGET_OF = {name: target for target, name in REGISTERED_NAMES.items()}
SPLIT_METRIC = re.compile(r"^(?P<split>.+)\.model\.(?P<metric>precision_at_k|calibration_error|auc|recall_at_k)$")


@dataclass
class Version:
    name: str
    version: str
    target: str
    run_id: str | None
    created: str
    aliases: list[str]
    decision: object | None  # ethics.approval.Decision
    metrics: dict = field(default_factory=dict)

    @property
    def champion(self) -> bool:
        return "champion" in self.aliases

    @property
    def mlflow_url(self) -> str:
        return f"{MLFLOW_UI}/#/models/{self.name}/versions/{self.version}"


def _client():
    from mlflow import MlflowClient

    from models import tracking

    tracking.configure()
    return MlflowClient()


def everything() -> list[Version]:
    """Every version of every registered model, newest first within each model."""
    import datetime as dt

    from ethics.approval import latest_decision

    client, found = _client(), []
    for name in REGISTERED_NAMES.values():
        versions = client.search_model_versions(f"name = '{name}'")
        aliases = client.get_registered_model(name).aliases if versions else {}  # search leaves aliases out
        for v in sorted(versions, key=lambda v: -int(v.version)):
            created = dt.datetime.fromtimestamp(v.creation_timestamp / 1000, dt.timezone.utc)
            found.append(Version(name, str(v.version), TARGET_OF[name], v.run_id, f"{created:%d %B %Y %H:%M}",
                                 [a for a, n in aliases.items() if str(n) == str(v.version)],
                                 latest_decision(name, str(v.version))))
    return found


def one(name: str, version: str) -> Version | None:
    return next((v for v in everything() if v.name == name and v.version == str(version)), None)


def with_metrics(versions: list[Version]) -> list[Version]:
    client = _client()
    for v in versions:
        v.metrics = client.get_run(v.run_id).data.metrics if v.run_id else {}
    return versions


def by_split(metrics: dict) -> list[dict]:
    """The model's figures on each rolling test window, oldest first: performance over time."""
    splits: dict[str, dict] = {}
    for key, value in metrics.items():
        match = SPLIT_METRIC.match(key)
        if match:
            splits.setdefault(match["split"], {"split": match["split"].replace("_", " ")})[match["metric"]] = value
    return [splits[k] for k in sorted(splits)]


def report_files(version: Version) -> dict:
    """The version's report as the board reads it: {'card': [...], 'atrs': {...}, 'html': str|None, ...}."""
    import mlflow

    from ethics.approval import REPORT_FOLDER

    from ethics.approval import folder_fingerprint

    found = {"card": None, "atrs": None, "html": None, "fairness": None, "fingerprint": None}
    if not version.run_id:
        return found
    _client()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            folder = Path(mlflow.artifacts.download_artifacts(run_id=version.run_id, artifact_path=REPORT_FOLDER,
                                                              dst_path=tmp))
        except Exception:  # no report folder yet: the page says so
            return found
        for key, file in (("card", "model_card.json"), ("atrs", "atrs.json"), ("fairness", "fairness.json")):
            if (folder / file).exists():
                found[key] = json.loads((folder / file).read_text())
        if isinstance(found["card"], dict):  # {"model", "version", "sections"}: the page shows the sections
            found["card"] = found["card"].get("sections")
        if (folder / "report.html").exists():
            found["html"] = (folder / "report.html").read_text()
        found["fingerprint"] = folder_fingerprint(folder)  # of exactly what the page shows
    return found


def history(version: Version) -> list:
    """Every decision the board made on the version, newest first (ethics.approval.Decision)."""
    from ethics.approval import decisions

    return decisions(version.name, version.version)


def decide(version: Version, decision: str, by: str, note: str, read: str, overturn: bool):
    """The board's decision through the approval gate, on the report READ (its fingerprint); NotServable or
    ValueError say why it cannot be made."""
    from ethics.approval import decide as gate

    _client()
    return gate(version.name, version.version, decision, by, note, demo=False, read=read, overturn=overturn)
