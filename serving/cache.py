"""A local copy of the last approved version of each model, so the service can start when the registry
cannot be reached.

Written only after the approval gate passed, under $UPSTREAM_HOME/serving/approved/<model>/: the model's
files and the approval they were served under. Each write lands in a temporary folder first and is then
renamed into place, so a crash never leaves a half-written model to serve.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from models.learner import RiskModel


def folder() -> Path:
    from upstream.config import home

    return home() / "serving" / "approved"


def save(name: str, version: str, model: RiskModel, approval: dict, run_id: str | None) -> None:
    target = folder() / name
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    model.save(work / "model")
    (work / "approval.json").write_text(json.dumps({"model": name, "version": str(version), "run_id": run_id,
                                                    "approval": approval}, indent=1, default=str))
    old = target.with_name(f".{name}-old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    work.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def load(name: str) -> tuple[str, RiskModel, dict, str | None] | None:
    """(version, model, approval, run_id) of the cached version, or None when nothing is cached."""
    target = folder() / name
    if not (target / "approval.json").exists():
        return None
    record = json.loads((target / "approval.json").read_text())
    return record["version"], RiskModel.load(target / "model"), record["approval"], record.get("run_id")


def version(name: str) -> str | None:
    path = folder() / name / "approval.json"
    return json.loads(path.read_text())["version"] if path.exists() else None
