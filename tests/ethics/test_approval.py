"""The approval gate: only a version whose current report the ethics board approved is ever served."""
import json
import tempfile
from pathlib import Path

import mlflow
import pytest
import sqlalchemy as sa
from mlflow import MlflowClient
from typer.testing import CliRunner

from ethics.approval import NotServable, approvals, decide, servable
from ethics.report import MLFLOW_FILES
from models import tracking
from upstream.cli import app

NAME = "homelessness-risk"
runner = CliRunner()


def said(result) -> str:
    return " ".join(result.output.split())


@pytest.fixture(scope="module")
def registry(reported):
    """The reported challenger's home, data options and model source."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UPSTREAM_HOME", str(reported.home))
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):  # whatever an earlier module left behind
            patch.delenv(name, raising=False)
        tracking.configure()
        source = MlflowClient().get_model_version(NAME, "1").source
    return reported.home, reported.common, source


@pytest.fixture
def trained(registry, monkeypatch, tmp_path):
    """A new version of the model on a run of its own holding a copy of the report, the champion alias
    cleared, and an empty audit store: each test starts from a version nobody has decided on."""
    home, common, source = registry
    monkeypatch.setenv("UPSTREAM_HOME", str(home))
    monkeypatch.setenv("UPSTREAM_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    tracking.configure()
    client = MlflowClient()
    if "champion" in client.get_registered_model(NAME).aliases:
        client.delete_registered_model_alias(NAME, "champion")
    with mlflow.start_run(experiment_id=tracking.experiment_id("approval-tests")) as run:
        for name in MLFLOW_FILES:
            mlflow.log_artifact(str(home / "report" / name), "report")
    version = client.create_model_version(NAME, source, run.info.run_id)
    return common, str(version.version)


def approve(version, *extra):
    return runner.invoke(app, ["approve", "--model", NAME, "--version", version, "--by", "Dr A. Chair",
                               "--note", "Recall parity within range; reviewed 24 Nov", *extra])


def test_a_version_without_a_report_cannot_be_approved(trained, registry):
    _, source = trained[0], registry[2]
    with mlflow.start_run(experiment_id=tracking.experiment_id("approval-tests")) as run:
        mlflow.set_tag("purpose", "a version whose run has no report")
        mlflow.log_text("a stand-in for the model's files", "model/stand-in.txt")
    bare = str(MlflowClient().create_model_version(NAME, source, run.info.run_id).version)
    result = approve(bare, "--decision", "approve")
    assert result.exit_code == 1 and "has no report: run `upstream report` first" in said(result)
    with pytest.raises(mlflow.exceptions.MlflowException):
        MlflowClient().get_model_version_by_alias(NAME, "champion")


def test_an_unreadable_artifact_store_is_said_so_never_taken_for_a_missing_report(trained):
    import shutil
    from urllib.parse import urlparse

    version = trained[1]
    assert approve(version, "--decision", "approve").exit_code == 0
    run = MlflowClient().get_run(MlflowClient().get_model_version(NAME, version).run_id)
    folder = Path(urlparse(run.info.artifact_uri).path)
    shutil.move(folder, folder.with_name("moved-away"))  # an unmounted share, say
    try:
        result = approve(version, "--decision", "reject")
        assert result.exit_code == 1 and "the artifact store holds nothing for run" in said(result)
        assert "run `upstream report`" not in said(result)
        with pytest.raises(OSError):
            servable(NAME, version)  # the service's refresh keeps what it serves on an error that is not a refusal
    finally:
        shutil.move(folder.with_name("moved-away"), folder)


def test_approving_the_report_makes_the_champion_and_is_recorded_twice(trained, tmp_path):
    common, version = trained
    result = approve(version, "--decision", "approve", "--demo")
    assert result.exit_code == 0, result.output
    assert "is now the champion" in said(result) and said(result).startswith("Demo decision")
    assert str(MlflowClient().get_model_version_by_alias(NAME, "champion").version) == version
    tags = MlflowClient().get_model_version(NAME, version).tags
    assert tags["approval.decision"] == "approve" and tags["approval.by"] == "Dr A. Chair"
    assert tags["approval.demo"] == "true" and len(tags["approval.report_sha256"]) == 64
    assert servable(NAME, version).report_sha256 == tags["approval.report_sha256"]
    risk = tmp_path / "risk.parquet"
    result = runner.invoke(app, ["score", *common, "--target", "homelessness", "--as-of", "2025-06-01",
                                 "--out", str(risk)])
    assert result.exit_code == 0, result.output  # the champion, unasked


def test_a_report_changed_after_approval_is_refused_and_not_scored(trained, registry, tmp_path):
    common, version = trained
    assert approve(version, "--decision", "approve").exit_code == 0
    run_id = MlflowClient().get_model_version(NAME, version).run_id
    with tempfile.TemporaryDirectory() as folder:
        forged = Path(folder) / "fairness.json"
        numbers = json.loads((registry[0] / "report" / "fairness.json").read_text())
        forged.write_text(json.dumps({**numbers, "groups": []}))
        MlflowClient().log_artifact(run_id, str(forged), "report")
    with pytest.raises(NotServable, match="report has changed since it was approved"):
        servable(NAME, version)
    for named in ([], ["--model-version", "champion"]):  # naming the champion is no way round the gate
        result = runner.invoke(app, ["score", *common, "--target", "homelessness", "--as-of", "2025-06-01",
                                     "--out", str(tmp_path / "risk.parquet"), *named])
        assert result.exit_code == 1 and "changed since it was approved" in said(result)


def test_a_rejected_champion_stops_being_the_champion(trained):
    version = trained[1]
    assert approve(version, "--decision", "approve").exit_code == 0
    result = approve(version, "--decision", "reject")
    assert result.exit_code == 0 and "will not be served" in said(result)
    with pytest.raises(mlflow.exceptions.MlflowException):
        MlflowClient().get_model_version_by_alias(NAME, "champion")
    with pytest.raises(NotServable, match="rejected by Dr A. Chair"):
        servable(NAME, version)


def test_registry_tags_edited_by_hand_do_not_pass_the_gate(trained):
    version = trained[1]
    assert approve(version, "--decision", "approve").exit_code == 0
    MlflowClient().set_model_version_tag(NAME, version, "approval.report_sha256", "0" * 64)
    with pytest.raises(NotServable, match="does not match the audit store"):
        servable(NAME, version)


def test_a_decision_needs_who_and_why(trained):
    with pytest.raises(ValueError, match="--by"):
        decide(NAME, trained[1], "approve", "  ", "fine")


def test_the_audit_store_runs_on_postgresql(trained, postgres_database, monkeypatch):
    version = trained[1]
    url = postgres_database.replace("postgresql://", "postgresql+psycopg://")
    monkeypatch.setenv("UPSTREAM_DATABASE_URL", url)
    assert approve(version, "--decision", "approve").exit_code == 0
    with sa.create_engine(url).connect() as db:
        rows = db.execute(sa.select(approvals.c.model, approvals.c.version, approvals.c.decision)).all()
    assert rows == [(NAME, version, "approve")]
    assert servable(NAME, version).decided_by == "Dr A. Chair"
    for rewrite in (approvals.update().values(decided_by="Someone else"), approvals.delete(),
                    sa.text("TRUNCATE approvals")):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), sa.create_engine(url).begin() as db:
            db.execute(rewrite)


def test_the_boards_decisions_cannot_be_rewritten(trained):
    from ethics.approval import engine

    version = trained[1]
    assert approve(version, "--decision", "reject").exit_code == 0
    for rewrite in (approvals.update().values(decision="approve"), approvals.delete()):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine().begin() as db:
            db.execute(rewrite)


def test_a_new_report_never_replaces_the_one_a_version_was_approved_on_unasked(trained, tmp_path):
    common, version = trained
    assert approve(version, "--decision", "approve").exit_code == 0
    args = ["report", *common, "--target", "homelessness", "--model-version", version, "--out", str(tmp_path / "r")]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "was approved by Dr A. Chair on this report" in said(result)
    assert "--replace-approved" in said(result) and not (tmp_path / "r").exists()
    assert servable(NAME, version).decided_by == "Dr A. Chair"  # still served
    asked = runner.invoke(app, [*args, "--replace-approved"])  # goes on (this copy has no held-out predictions)
    assert asked.exit_code == 1 and "no held-out predictions" in said(asked)


def test_a_decision_on_a_report_other_than_the_one_read_is_refused(trained, registry):
    version = trained[1]
    read = decide(NAME, version, "reject", "Dr A. Chair", "Asked for the tenure analysis first").report_sha256
    run_id = MlflowClient().get_model_version(NAME, version).run_id
    with tempfile.TemporaryDirectory() as folder:  # swapped after the board read it: disparities hidden
        forged = Path(folder) / "fairness.json"
        forged.write_text(json.dumps({**json.loads((registry[0] / "report" / "fairness.json").read_text()),
                                      "groups": []}))
        MlflowClient().log_artifact(run_id, str(forged), "report")
    result = approve(version, "--decision", "approve", "--report-sha256", read[:12])
    assert result.exit_code == 1 and f"not the {read[:12]} given as read" in said(result)
    assert approve(version, "--decision", "approve", "--report-sha256", read[:8]).exit_code == 1  # too short
    with pytest.raises(mlflow.exceptions.MlflowException):
        MlflowClient().get_model_version_by_alias(NAME, "champion")


def test_a_rejection_is_overturned_only_when_said_and_both_stay_on_record(trained):
    from ethics.approval import decisions

    version = trained[1]
    assert approve(version, "--decision", "reject").exit_code == 0
    quietly = runner.invoke(app, ["approve", "--model", NAME, "--version", version, "--decision", "approve",
                                  "--by", "C. Analyst", "--note", "re-approve"])
    assert quietly.exit_code == 1 and "overturns that rejection" in said(quietly) and "Dr A. Chair" in said(quietly)
    result = approve(version, "--decision", "approve", "--overturn-rejection")
    assert result.exit_code == 0 and "is now the champion" in said(result)
    assert [d.decision for d in decisions(NAME, version)] == ["approve", "reject"]
    again = approve(version, "--decision", "approve")
    assert again.exit_code == 0 and "had already approved this report" in said(again)
