"""One trained and reported homelessness version, shared by the ethics tests (training and a report take a
minute; each test that changes the registry works on a copy of its own)."""
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from upstream.cli import app

NAME = "homelessness-risk"


@dataclass(frozen=True)
class Reported:
    home: Path  # the UPSTREAM_HOME it was trained and reported in
    out: Path  # the report folder `upstream report --out` wrote
    common: list  # --data and --features for further commands
    output: str  # what `upstream report` printed


@pytest.fixture(scope="session")
def reported(model_borough, model_matrix, tmp_path_factory) -> Reported:
    home, experiment = tmp_path_factory.mktemp("reported-home"), tmp_path_factory.mktemp("exp") / "quick.yaml"
    experiment.write_text("name: quick-homelessness\ntarget: homelessness\ncapacity: 30\nnegative_sample: 0.5\n"
                          "splits: {count: 2, test_months: 2, calibration_months: 2}\n"
                          "model: {num_boost_round: 60, early_stopping_rounds: 20}\n"
                          "search: [{num_leaves: 7}, {num_leaves: 15}]\n")
    common = ["--data", str(model_borough), "--features", str(model_matrix)]
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UPSTREAM_HOME", str(home))
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
            patch.delenv(name, raising=False)
        result = runner.invoke(app, ["train", *common, "--experiment", str(experiment)])
        assert result.exit_code == 0, result.output
        result = runner.invoke(app, ["report", *common, "--target", "homelessness", "--out", str(home / "report")])
        assert result.exit_code == 0, result.output
    return Reported(home, home / "report", common, result.output)


@pytest.fixture
def in_reported_home(reported, monkeypatch) -> Reported:
    """Point this test at the reported version's store."""
    from models import tracking

    monkeypatch.setenv("UPSTREAM_HOME", str(reported.home))
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(name, raising=False)
    tracking.configure()
    return reported
