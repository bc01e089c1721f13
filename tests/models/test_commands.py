"""The analyst's commands: `upstream train` and `upstream score`, `mlflow run`, and the PostgreSQL store."""
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from features.build import key_map_path
from features.sources import extracts_fingerprint
from models import pipeline, tracking
from models.experiment import load_experiment
from upstream.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def said(result) -> str:
    """What the command printed, with Rich's line wrapping undone."""
    return " ".join(result.output.split())


def test_train_then_score_writes_the_risk_list_contract(model_borough, model_matrix, quick_experiment, tmp_path):
    common = ["--data", str(model_borough), "--features", str(model_matrix)]
    result = runner.invoke(app, ["train", *common, "--experiment", str(quick_experiment)])
    assert result.exit_code == 0, result.output
    assert "Registered homelessness-risk version 1 as `challenger`" in said(result)

    as_of = "2025-06-01"
    result = runner.invoke(app, ["score", *common, "--target", "homelessness", "--as-of", as_of,
                                 "--out", str(tmp_path / "risk.parquet")])
    assert result.exit_code == 1 and "no approved champion" in said(result)  # analysts must ask for a version

    result = runner.invoke(app, ["score", *common, "--target", "homelessness", "--as-of", as_of,
                                 "--model-version", "latest", "--out", str(tmp_path / "risk.parquet")])
    assert result.exit_code == 0, result.output
    risk = pd.read_parquet(tmp_path / "risk.parquet")
    assert list(risk.columns) == ["uprn", "as_of", "target", "score", "rank", "reasons", "model_version"]
    residents = pd.read_parquet(model_matrix, filters=[("as_of", "==", pd.Timestamp(as_of))])
    assert len(risk) == len(residents) and risk["uprn"].is_unique
    assert set(risk["uprn"]) == set(pd.read_parquet(key_map_path(model_matrix)).set_index("household_key")
                                    .loc[residents["household_key"], "uprn"])
    assert risk["rank"].tolist() == list(range(1, len(risk) + 1))
    assert risk["score"].between(0, 1).all() and risk["score"].is_monotonic_decreasing
    assert (risk["target"] == "homelessness").all() and (risk["model_version"] == "1").all()
    assert all(1 <= len(r) <= 3 for r in risk["reasons"])  # what moved each score most, in plain English
    assert all(s.endswith(("(raises the risk)", "(lowers the risk)")) for r in risk["reasons"] for s in r)
    top = risk["reasons"].iloc[0]
    assert any("(raises the risk)" in s for s in top)  # the highest-risk household has something raising it


def test_a_matrix_from_other_extracts_is_refused(model_borough, small_borough, model_matrix, quick_experiment):
    result = runner.invoke(app, ["train", "--data", str(small_borough), "--features", str(model_matrix),
                                 "--experiment", str(quick_experiment)])
    assert result.exit_code == 1 and "was not built from the extracts" in said(result)


def test_an_experiment_with_a_typo_or_a_leaky_window_is_refused(model_borough, tmp_path):
    typo = tmp_path / "typo.yaml"
    typo.write_text("name: x\ntarget: homelessness\ncapacitty: 100\n")
    result = runner.invoke(app, ["train", "--data", str(model_borough), "--experiment", str(typo)])
    assert result.exit_code == 1 and "capacitty" in said(result)
    leaky = tmp_path / "leaky.yaml"
    leaky.write_text("name: x\ntarget: homelessness\nlabel_window_months: 3\n")
    result = runner.invoke(app, ["train", "--data", str(model_borough), "--experiment", str(leaky)])
    assert result.exit_code == 1 and "overlap the test months" in said(result)
    empty = tmp_path / "empty.yaml"
    empty.write_text("name: x\ntarget: homelessness\nsearch: []\n")
    result = runner.invoke(app, ["train", "--data", str(model_borough), "--experiment", str(empty)])
    assert result.exit_code == 1 and "search" in said(result) and "Traceback" not in result.output


@pytest.mark.parametrize("launcher_pointed", [False, True], ids=["launcher-unpointed", "launcher-pointed"])
def test_mlflow_run_trains_into_the_projects_store(model_borough, quick_experiment, tmp_path, launcher_pointed):
    """As an analyst runs it, with the environment not activated: `mlflow run` in the project folder, on the
    borough of the instance's own $UPSTREAM_HOME when no data is named. Unpointed, the launcher keeps its own
    run in ./mlflow.db; pointed at the project's store (as the README says), there is one run and no stray file."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "borough").symlink_to(model_borough)
    env = {**os.environ, "UPSTREAM_HOME": str(home), "MLFLOW_DISABLE_TELEMETRY": "true",
           "PATH": "/usr/bin:/bin"}
    env.pop("MLFLOW_TRACKING_URI", None)
    if launcher_pointed:
        env["MLFLOW_TRACKING_URI"] = f"sqlite:///{home}/mlflow.db"
    stray, was_there = ROOT / "mlflow.db", (ROOT / "mlflow.db").exists()
    mlflow_cli = Path(sys.executable).with_name("mlflow")
    done = subprocess.run([str(mlflow_cli), "run", ".", "-e", "train", "-P", f"experiment={quick_experiment}",
                           "--env-manager", "local"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    os.environ["UPSTREAM_HOME"] = str(home)  # the autouse fixture restores it
    tracking.configure()
    client = MlflowClient()
    version = client.get_model_version_by_alias("homelessness-risk", "challenger")
    run = client.get_run(version.run_id)
    assert run.data.tags["upstream.data_fingerprint"] == extracts_fingerprint(model_borough)
    assert run.data.params["target"] == "homelessness"
    if launcher_pointed:
        assert "upstream.launcher_run_id" not in run.data.tags and (was_there or not stray.exists())
        assert run.info.status == "FINISHED"  # the launcher's run is the command's, closed by the launcher
    else:
        assert run.data.tags["upstream.launcher_run_id"]
        if not was_there:
            stray.unlink()  # the launcher's own bookkeeping run, outside the test's home


@pytest.fixture
def postgres_store(postgres_database, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", postgres_database)
    return postgres_database.rsplit("/", 1)[1]


def test_the_postgresql_store_tracks_and_registers(postgres_store, model_borough, model_matrix, quick_experiment):
    summary = pipeline.run(model_matrix, load_experiment(quick_experiment), extracts_fingerprint(model_borough))
    assert tracking.configure().startswith("postgresql://")
    client = MlflowClient()
    assert str(client.get_model_version_by_alias("homelessness-risk", "challenger").version) == summary.version
    assert client.get_run(summary.run_id).data.metrics["precision_at_k"] >= 0
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname=postgres_store) as conn:
        assert conn.execute("SELECT name, version FROM model_versions").fetchall() == [("homelessness-risk", 1)]
    home = Path(os.environ["UPSTREAM_HOME"])
    assert not (home / "mlflow.db").exists()  # nothing went to the embedded default
    model = tracking.load_model("homelessness-risk", summary.version)
    assert model.features == summary.result.model.features


def test_evaluate_scores_a_version_only_on_months_after_its_training(model_borough, model_matrix, tmp_path):
    early = tmp_path / "early.yaml"
    early.write_text("name: early\ntarget: homelessness\ncapacity: 30\nas_of_end: 2024-12-01\n"
                     "splits: {count: 1, test_months: 1, calibration_months: 2}\n"
                     "model: {num_boost_round: 60, early_stopping_rounds: 20}\n")
    common = ["--data", str(model_borough), "--features", str(model_matrix)]
    result = runner.invoke(app, ["train", *common, "--experiment", str(early)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["evaluate", *common, "--target", "homelessness", "--model-version", "1"])
    assert result.exit_code == 0, result.output
    assert "homelessness version 1 on later months" in said(result)
    tracking.configure()
    run = MlflowClient().search_runs([MlflowClient().get_experiment_by_name("homelessness-evaluation").experiment_id])[0]
    first, last = run.data.params["test"].split(" to ")
    assert first == "2025-06"  # 6 months after its last calibration month: nothing it was fitted on
    assert run.data.metrics["model.auc"] > run.data.metrics["rule.auc"]

    full = tmp_path / "full.yaml"
    full.write_text("name: full\ntarget: homelessness\ncapacity: 30\nsplits: {count: 1}\n"
                    "model: {num_boost_round: 30}\n")
    assert runner.invoke(app, ["train", *common, "--experiment", str(full)]).exit_code == 0
    result = runner.invoke(app, ["evaluate", *common, "--target", "homelessness", "--model-version", "2"])
    assert result.exit_code == 1 and "evaluate it on a later extract" in said(result)
