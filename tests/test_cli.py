"""The command line: help, one-line errors with a non-zero exit, and the commands end to end."""
import json
import shutil
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
    assert "s] Building features on duckdb" in result.output  # no live bar in a log: each step on a line
    assert json.loads((tmp_path / "m.features.json").read_text())["features"]


def test_features_refuses_a_date_that_is_not_a_month_start(small_borough, tmp_path):
    result = runner.invoke(app, ["features", "--data", str(small_borough), "--out", str(tmp_path / "m.parquet"),
                                 "--as-of", "2024-06-15"])
    assert result.exit_code == 1
    assert "must be the first day of a month" in result.output


def test_an_extract_changed_after_its_export_changes_the_fingerprint(small_borough, tmp_path):
    """The manifest's hashes are the export's claim, not the files: a matrix cached under the old fingerprint
    must never be used for edited or damaged extracts."""
    from features.sources import extracts_fingerprint

    copy = tmp_path / "borough"
    shutil.copytree(small_borough / "extracts", copy / "extracts")
    shutil.copy(small_borough / "manifest.json", copy / "manifest.json")
    before = extracts_fingerprint(copy)
    assert before == extracts_fingerprint(small_borough)
    claims = copy / "extracts" / "benefits" / "claims.csv"
    claims.write_text(claims.read_text()[: len(claims.read_text()) // 2])  # truncated
    assert extracts_fingerprint(copy) != before


def test_features_refuses_links_made_for_other_extracts(small_borough, small_links, tmp_path):
    from features.linkage import write_links

    other = tmp_path / "other"
    shutil.copytree(small_borough / "extracts", other / "extracts")
    (other / "extracts" / "llpg" / "gazetteer.csv").open("a").write("\n")
    links = tmp_path / "links.parquet"
    write_links(small_links, links, small_borough)
    unmarked = tmp_path / "unmarked.parquet"
    small_links.to_parquet(unmarked)
    for given, said in ((links, "does not link the extracts in"), (unmarked, "carries no fingerprint"),
                        (tmp_path / "missing.parquet", "is not a links file")):
        result = runner.invoke(app, ["features", "--data", str(other), "--out", str(tmp_path / "m.parquet"),
                                     "--links", str(given)])
        assert result.exit_code == 1 and said in " ".join(result.output.split()), result.output
    assert not (tmp_path / "m.parquet").exists()


@pytest.mark.parametrize("as_of, said", [("2019-01-01", "is before the extracts hold six months of history"),
                                         ("2030-01-01", "is after the extracts were taken")])
def test_features_refuses_an_as_of_date_the_extracts_cannot_answer(small_borough, small_links, tmp_path, as_of, said):
    from features.linkage import write_links

    links = tmp_path / "links.parquet"
    write_links(small_links, links, small_borough)
    result = runner.invoke(app, ["features", "--data", str(small_borough), "--out", str(tmp_path / "m.parquet"),
                                 "--links", str(links), "--as-of", as_of])
    assert result.exit_code == 1 and said in " ".join(result.output.split()), result.output


def test_synth_never_replaces_extracts_it_did_not_write(tmp_path):
    council = tmp_path / "council"
    (council / "extracts" / "rent").mkdir(parents=True)
    (council / "extracts" / "rent" / "tenancies.csv").write_text("tenancy_ref\nT1\n")
    result = runner.invoke(app, ["synth", "--households", "200", "--months", "12", "--out", str(council)])
    assert result.exit_code == 1 and "did not write" in " ".join(result.output.split())
    assert (council / "extracts" / "rent" / "tenancies.csv").read_text() == "tenancy_ref\nT1\n"


def test_a_csv_that_cannot_be_parsed_is_named_in_one_line(small_borough, tmp_path):
    copy = tmp_path / "borough"
    shutil.copytree(small_borough / "extracts", copy / "extracts")
    claims = copy / "extracts" / "benefits" / "claims.csv"
    lines = claims.read_text().splitlines()
    claims.write_text("\n".join([*lines[:50], lines[50] + ',"unclosed', *lines[51:]]) + "\n")
    result = runner.invoke(app, ["validate", "--data", str(copy)])
    assert result.exit_code == 1 and "claims.csv cannot be read as CSV" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    out_folder = tmp_path / "a-folder"
    out_folder.mkdir()
    result = runner.invoke(app, ["features", "--data", str(small_borough), "--out", str(out_folder),
                                 "--as-of", "2024-06-01"])
    assert result.exit_code == 1 and "Traceback" not in result.output and "a-folder" in result.output


@pytest.mark.parametrize("extra, said", [
    (["--out", "scores.xlsx", "--model-version", "latest"], "name a .parquet or a .csv file"),
    (["--out", "scores.parquet", "--model-version", "2"], "names a version of one model: pass --target too"),
])
def test_score_refuses_what_it_cannot_do_before_any_work(small_borough, tmp_path, extra, said):
    result = runner.invoke(app, ["score", "--data", str(small_borough), "--as-of", "2024-06-01", *extra])
    assert result.exit_code == 1 and said in " ".join(result.output.split()), result.output


def test_what_a_command_writes_is_its_owners_alone(tmp_path):
    """Extracts, key maps and predictions are personal data: a command's folders and files are never
    readable by other accounts on the machine, whatever the shell's umask."""
    import os
    import stat

    before = os.umask(0o022)
    try:
        result = runner.invoke(app, ["docs", "--folder", str(tmp_path / "new" / "docs")])
    finally:
        os.umask(before)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new" / "docs" / "features.json").stat().st_mode) == 0o600


def test_a_store_password_is_never_printed():
    from upstream.config import shown_uri

    assert shown_uri("postgresql://upstream:S3cret@db.internal:5432/mlflow") == \
        "postgresql://upstream:***@db.internal:5432/mlflow"
    assert shown_uri("sqlite:////srv/upstream/mlflow.db") == "sqlite:////srv/upstream/mlflow.db"


def test_an_unreachable_mlflow_store_is_one_line_not_a_traceback(monkeypatch):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        nowhere = f"http://user:pw@127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", nowhere)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    result = runner.invoke(app, ["approve", "--model", "homelessness", "--version", "1", "--decision", "approve",
                                 "--by", "Dr A. Chair", "--note", "read it"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    said = " ".join(result.output.split())
    assert said.startswith("Error: the MLflow store http://user:***@127.0.0.1:") and "cannot be reached" in said
