"""A local copy of every version the gate let the service load, so it can start when the registry cannot be
reached, and fall back to an earlier approved version when the champion is refused.

Under $UPSTREAM_HOME/serving/approved/<model>/<version>/: the model's files and the approval it was served
under; `latest` names the version loaded last. Each version is written to a temporary folder and renamed
into place, and `latest` is replaced atomically, so a crash never leaves a half-written model to serve.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from models.learner import RiskModel


def folder(name: str) -> Path:
    from upstream.config import home

    return home() / "serving" / "approved" / name


def save(name: str, version: str, model: RiskModel, approval: dict, run_id: str | None) -> None:
    place = folder(name)
    place.mkdir(parents=True, exist_ok=True)
    if not (place / str(version) / "approval.json").exists():
        work = Path(tempfile.mkdtemp(prefix=".incoming-", dir=place))
        model.save(work / "model")
        (work / "approval.json").write_text(json.dumps({"model": name, "version": str(version), "run_id": run_id,
                                                        "approval": approval}, indent=1, default=str))
        shutil.rmtree(place / str(version), ignore_errors=True)
        work.rename(place / str(version))
    pointer = place / ".latest"
    pointer.write_text(str(version))
    os.replace(pointer, place / "latest")


def versions(name: str) -> list[str]:
    """Cached versions, the one loaded last first, then newest first."""
    place = folder(name)
    found = sorted((p.name for p in place.glob("*") if (p / "approval.json").exists()), key=int, reverse=True)
    latest = (place / "latest").read_text().strip() if (place / "latest").exists() else None
    return ([latest] if latest in found else []) + [v for v in found if v != latest]


def load(name: str, version: str | None = None) -> tuple[str, RiskModel, dict, str | None] | None:
    """(version, model, approval, run_id) of VERSION (default: the one loaded last), or None if not cached."""
    cached = versions(name)
    version = str(version) if version is not None else (cached[0] if cached else None)
    if version not in cached:
        return None
    record = json.loads((folder(name) / version / "approval.json").read_text())
    return version, RiskModel.load(folder(name) / version / "model"), record["approval"], record.get("run_id")
