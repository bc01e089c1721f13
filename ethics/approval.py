"""The approval gate: no model reaches a caseworker without the ethics board's recorded approval of its report.

A decision is recorded twice: as tags on the MLflow model version (what analysts see in the registry) and
as an append-only row in the application's audit store (what the council keeps). Both carry the SHA-256
of the version's report as it was when the board read it. A version is servable only if its latest
decision is "approve", its report is still there, its fingerprint still matches, and the registry agrees
with the audit store. Approving moves the `champion` alias; nothing else does.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import sqlalchemy as sa
from mlflow import MlflowClient

from models.tracking import CHAMPION
from upstream.tables import append_only

REPORT_FOLDER = "report"
DECISIONS = ("approve", "reject")
metadata = sa.MetaData()
approvals = append_only(sa.Table(
    "approvals", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("version", sa.String(20), nullable=False),
    sa.Column("decision", sa.String(10), nullable=False),
    sa.Column("decided_by", sa.String(200), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("report_sha256", sa.String(64), nullable=False),
    sa.Column("demo", sa.Boolean, nullable=False, default=False),
))


class NotServable(Exception):
    """A version the gate refuses, with the reason a person can act on."""


@dataclass(frozen=True)
class Decision:
    model: str
    version: str
    decision: str
    decided_by: str
    note: str
    report_sha256: str
    at: dt.datetime
    demo: bool = False


def engine() -> sa.Engine:
    from upstream.config import database_url

    return _engine(database_url())


@functools.lru_cache(maxsize=4)
def _engine(url: str) -> sa.Engine:
    """One engine (and one table check) per database, not per call; psycopg 3 is the PostgreSQL driver here,
    so a plain postgresql:// URL is read as postgresql+psycopg://."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    db = sa.create_engine(url)
    metadata.create_all(db)
    return db


def report_fingerprint(model: str, version: str) -> str:
    """SHA-256 over every file of the version's report (names and contents); a missing report is refused."""
    run_id = MlflowClient().get_model_version(model, version).run_id
    with tempfile.TemporaryDirectory() as folder:
        try:
            local = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=REPORT_FOLDER,
                                                             dst_path=folder))
        except Exception:  # MLflow raises its own or OSError for a missing folder
            local = None
        found = folder_fingerprint(local) if local and local.exists() else None
        if found is None:
            _readable(run_id)
            raise NotServable(f"{model} version {version} has no report: run `upstream report` first")
        return found


def _readable(run_id: str) -> None:
    """Raise OSError when the run's artifacts cannot be read at all: every registered version's run holds its
    model, so an empty run means the artifact store is missing or unmounted, not that no report was made
    (and a service then keeps what it serves, rather than dropping it)."""
    try:
        found = mlflow.artifacts.list_artifacts(run_id=run_id)
    except Exception as exc:
        raise OSError(f"the artifact store cannot be read ({type(exc).__name__})") from None
    if not found:
        raise OSError(f"the artifact store holds nothing for run {run_id}: is it missing or not mounted? "
                      f"(UPSTREAM_ARTIFACTS)")


def folder_fingerprint(folder: Path) -> str | None:
    """The fingerprint of a report folder as MLflow holds it (None when it holds no file): what `upstream report`
    prints, the dashboard shows beside the report, and a decision records."""
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def decide(model: str, version: str, decision: str, decided_by: str, note: str, demo: bool = False,
           read: str | None = None, overturn: bool = False) -> Decision:
    """Record the board's decision on the version's current report; approving makes it the champion.

    READ is the fingerprint (or its first 12 characters or more) of the report the board read: a report
    changed since is refused, so a decision is never recorded against something nobody read. Approving the
    very report the board rejected needs OVERTURN, so a rejection is never undone in passing."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be approve or reject, not {decision!r}")
    if not decided_by.strip() or not note.strip():
        raise ValueError("a decision needs the name of who made it (--by) and a note saying why (--note)")
    current = report_fingerprint(model, version)
    if read is not None:
        read = read.strip().lower()
        if len(read) < 12 or not current.startswith(read):
            raise ValueError(f"the report of {model} version {version} is {current[:12]} now, not the {read[:12]} "
                             "given as read: it has changed, or the fingerprint is mistyped. Read the report again")
    before = latest_decision(model, version)
    if (decision == "approve" and not overturn and before is not None and before.decision == "reject"
            and before.report_sha256 == current):
        raise ValueError(f"{before.decided_by} rejected this report of {model} version {version} on "
                         f"{before.at:%d %B %Y} ({before.note}). Approving it overturns that rejection: say so "
                         "explicitly (--overturn-rejection); both decisions stay on the record")
    record = Decision(model, str(version), decision, decided_by.strip(), note.strip(), current,
                      dt.datetime.now(dt.timezone.utc), demo)
    with engine().begin() as db:
        db.execute(approvals.insert().values(
            at=record.at, model=model, version=record.version, decision=decision, decided_by=record.decided_by,
            note=record.note, report_sha256=record.report_sha256, demo=demo))
    client = MlflowClient()
    for key, value in {"decision": decision, "by": record.decided_by, "note": record.note,
                       "at": record.at.isoformat(timespec="seconds"), "report_sha256": record.report_sha256,
                       "demo": str(demo).lower()}.items():
        client.set_model_version_tag(model, record.version, f"approval.{key}", value)
    if decision == "approve":
        client.set_registered_model_alias(model, CHAMPION, record.version)
    elif _alias_version(model, CHAMPION) == record.version:
        client.delete_registered_model_alias(model, CHAMPION)  # a rejected champion stops being served
    return record


def _alias_version(model: str, alias: str) -> str | None:
    try:
        return str(MlflowClient().get_model_version_by_alias(model, alias).version)
    except mlflow.exceptions.MlflowException:
        return None


def latest_decision(model: str, version: str) -> Decision | None:
    found = decisions(model, version, most=1)
    return found[0] if found else None


def decisions(model: str, version: str, most: int | None = None) -> list[Decision]:
    """Every decision on the version, newest first: the history the board sees."""
    query = (approvals.select().where(approvals.c.model == model, approvals.c.version == str(version))
             .order_by(approvals.c.id.desc()))
    with engine().connect() as db:
        rows = db.execute(query.limit(most) if most else query).mappings().all()
    return [Decision(r["model"], r["version"], r["decision"], r["decided_by"], r["note"], r["report_sha256"],
                     r["at"], r["demo"]) for r in rows]


def servable(model: str, version: str) -> Decision:
    """The approval that lets VERSION be served, or NotServable saying why not."""
    decision = latest_decision(model, version)
    if decision is None:
        raise NotServable(f"{model} version {version} has not been approved by the ethics board")
    if decision.decision != "approve":
        raise NotServable(f"{model} version {version} was rejected by {decision.decided_by}: {decision.note}")
    tags = MlflowClient().get_model_version(model, str(version)).tags
    if tags.get("approval.report_sha256") != decision.report_sha256 or tags.get("approval.decision") != "approve":
        raise NotServable(f"{model} version {version}: the registry's approval does not match the audit store")
    if report_fingerprint(model, version) != decision.report_sha256:
        raise NotServable(f"{model} version {version}: its report has changed since it was approved")
    return decision
