"""Batch risk lists: `upstream score --as-of` writes both targets for the whole borough into the application
database, and replacing a month's list is atomic on SQLite and PostgreSQL."""
from __future__ import annotations

import threading

import httpx
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from serving import database, risk_lists
from upstream.cli import app

AS_OF = "2025-06-01"
runner = CliRunner()


def said(result) -> str:
    return " ".join(result.output.split())


def test_score_as_of_writes_both_targets_for_every_household_and_agrees_with_the_api(in_served_home):
    served = in_served_home
    common = ["--data", str(served.borough), "--features", str(served.matrix)]
    residents = len(pd.read_parquet(served.matrix, columns=["as_of"], filters=[("as_of", "==", pd.Timestamp(AS_OF))]))
    result = runner.invoke(app, ["score", *common, "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    assert "Wrote the risk lists at 2025-06-01 to the application database" in said(result)
    for target in ("homelessness", "fuel_poverty"):
        listed = risk_lists.read(AS_OF, target)
        assert len(listed) == residents and listed["uprn"].is_unique
        assert listed["rank"].tolist() == list(range(1, residents + 1))
        assert listed["score"].is_monotonic_decreasing and listed["score"].between(0, 1).all()
        assert listed["band"].head(30).eq("very_high").all() and listed["band"].iloc[30] == "high"
        assert listed["band"].iloc[-1] == "low"
        assert all(1 <= len(r) <= 3 for r in listed["reasons"])
        some = listed.iloc[[0, 57, residents - 1]]
        response = httpx.post(f"{served.url}/score", headers=served.headers(), json={
            "target": target, "households": [{"uprn": str(u), "as_of": AS_OF} for u in some["uprn"]]})
        api = response.json()["results"]
        assert [r["rank"] for r in api] == some["rank"].tolist()
        assert [r["reasons"] for r in api] == [list(r) for r in some["reasons"]]
        assert np.allclose([r["score"] for r in api], some["score"], rtol=0, atol=1e-12)
    again = runner.invoke(app, ["score", *common, "--as-of", AS_OF, "--target", "homelessness"])
    assert again.exit_code == 0, again.output
    assert len(risk_lists.read(AS_OF, "homelessness")) == residents  # replaced, not appended


def test_only_the_approved_champion_goes_into_the_caseworkers_lists(in_served_home):
    served = in_served_home
    result = runner.invoke(app, ["score", "--data", str(served.borough), "--features", str(served.matrix),
                                 "--as-of", AS_OF, "--model-version", "latest"])
    assert result.exit_code == 1 and "come only from the approved champion" in said(result)


def a_list(rows: int, marker: float, version: str = "1") -> pd.DataFrame:
    return pd.DataFrame({"as_of": pd.Timestamp(AS_OF), "target": "homelessness", "model_version": version,
                         "uprn": np.arange(rows) + 10**9, "score": marker, "band": "low", "rank": np.arange(rows) + 1,
                         "reasons": [["Rent arrears of 9.2 weeks (raises the risk)"]] * rows})


@pytest.fixture(params=["sqlite", "postgresql"])
def app_database(request, tmp_path, monkeypatch):
    if request.param == "sqlite":
        monkeypatch.setenv("UPSTREAM_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    else:
        monkeypatch.setenv("UPSTREAM_DATABASE_URL", request.getfixturevalue("postgres_database"))
    yield request.param
    for db in database._engines.values():
        db.dispose()  # PostgreSQL drops the test database next: no connection may stay open
    database._engines.clear()


def test_replacing_a_list_is_atomic_and_a_failed_write_changes_nothing(app_database):
    risk_lists.replace(a_list(4000, 0.25))
    risk_lists.replace(a_list(100, 0.5, version="2"))  # another version's list is its own
    seen, done = set(), threading.Event()
    query = sa.select(sa.func.count(), sa.func.min(risk_lists.risk_lists.c.score)).where(
        risk_lists.risk_lists.c.model_version == "1")

    def reader():
        with database.engine().connect() as db:
            while not done.is_set():
                seen.add(tuple(db.execute(query).one()))
                db.rollback()  # a fresh snapshot for every read

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(3):
            risk_lists.replace(a_list(25_000, 0.75))
            risk_lists.replace(a_list(4000, 0.25))
    finally:
        done.set()
        thread.join()
    assert seen <= {(4000, 0.25), (25_000, 0.75)} and len(seen) == 2, seen  # old or new, never a mixture

    broken = a_list(25_000, 0.9).astype({"band": object})
    broken.loc[len(broken) - 1, "band"] = None  # the last batch fails, after the first ones went in
    with pytest.raises(sa.exc.IntegrityError):
        risk_lists.replace(broken)
    kept = risk_lists.read(AS_OF, "homelessness", "1")
    assert len(kept) == 4000 and (kept["score"] == 0.25).all()
    assert len(risk_lists.read(AS_OF, "homelessness", "2")) == 100
