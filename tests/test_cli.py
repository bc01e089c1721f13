"""The command line: help, one-line errors with a non-zero exit, and the commands end to end."""
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from upstream.cli import app

runner = CliRunner()


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("synth", "validate", "link", "features", "train", "score", "evaluate", "report", "approve",
                    "docs"):
        assert command in result.output


def test_bad_arguments_give_one_line_and_exit_1(tmp_path):
    result = runner.invoke(app, ["synth", "--out", str(tmp_path), "--months", "3"])
    assert result.exit_code == 1
    assert "Error: months must be between 7 and 120" in result.output
    assert "Traceback" not in result.output


def test_synth_writes_a_borough_and_its_calibration_table(tmp_path):
    out = tmp_path / "b"
    result = runner.invoke(app, ["synth", "--households", "500", "--months", "8", "--seed", "2",
                                 "--out", str(out), "--report"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["households"] == 500 and manifest["months"] == 8
    assert all(len(digest) == 64 for digest in manifest["files"].values())
    table = pd.read_csv(out / "calibration.csv")
    assert {"figure", "generated", "low", "high", "in_range", "source"} <= set(table.columns)
    assert (out / "calibration.md").read_text().startswith("| figure |")


def test_validate_reports_and_writes_quarantine(small_borough, tmp_path):
    result = runner.invoke(app, ["validate", "--data", str(small_borough), "--quarantine", str(tmp_path / "q")])
    assert result.exit_code == 0, result.output
    assert "council_tax/accounts" in result.output
    assert (tmp_path / "q" / "council_tax__accounts.csv").exists()


def test_validate_on_a_folder_without_extracts_fails_clearly(tmp_path):
    result = runner.invoke(app, ["validate", "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert "extracts" in result.output and "does not exist" in result.output


@pytest.mark.parametrize("name", ["data-contract.md", "features.md", "features.json"])
def test_committed_generated_docs_are_current(name, tmp_path):
    result = runner.invoke(app, ["docs", "--folder", str(tmp_path)])
    assert result.exit_code == 0, result.output
    committed = Path(__file__).resolve().parents[1] / "docs" / name
    assert committed.read_text() == (tmp_path / name).read_text(), f"run `upstream docs` to regenerate docs/{name}"


def test_link_then_features_end_to_end(small_borough, tmp_path):
    links = tmp_path / "links.parquet"
    result = runner.invoke(app, ["link", "--data", str(small_borough), "--out", str(links)])
    assert result.exit_code == 0, result.output
    assert "precision" in result.output and "recall" in result.output
    assert set(pd.read_parquet(links)["method"]) <= {"exact", "address", "unmatched"}
    matrix = tmp_path / "m.parquet"
    result = runner.invoke(app, ["features", "--data", str(small_borough), "--out", str(matrix), "--links", str(links),
                                 "--as-of", "2024-06-01", "--as-of", "2024-07-01"])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(matrix)
    assert sorted(frame["as_of"].unique()) == [pd.Timestamp("2024-06-01"), pd.Timestamp("2024-07-01")]
    assert "2 as-of dates" in result.output
    assert json.loads((tmp_path / "m.features.json").read_text())["features"]


def test_features_refuses_a_date_that_is_not_a_month_start(small_borough, tmp_path):
    result = runner.invoke(app, ["features", "--data", str(small_borough), "--out", str(tmp_path / "m.parquet"),
                                 "--as-of", "2024-06-15"])
    assert result.exit_code == 1
    assert "must be the first day of a month" in result.output
