"""Same seed, same bytes; more months extend the same history (prefix stability)."""
import json

import pandas as pd
import pytest

from features.sources import TABLES, load_table
from synth import BoroughSpec, borough, generate
from tests.conftest import make_borough


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_output(small_borough, tmp_path):
    again = tmp_path / "again"
    generate(BoroughSpec(households=2_000, months=24, seed=5), again)
    first, second = _files(small_borough), _files(again)
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []


def test_another_seed_gives_another_borough(small_borough, tmp_path):
    other = tmp_path / "other"
    generate(BoroughSpec(households=2_000, months=24, seed=6), other)
    assert json.loads((other / "manifest.json").read_text())["files"] != \
        json.loads((small_borough / "manifest.json").read_text())["files"]


def test_output_does_not_depend_on_workers(tmp_path, monkeypatch):
    monkeypatch.setattr(borough, "PARTITION_SIZE", 700)  # three partitions for a small borough
    spec = BoroughSpec(households=2_000, months=8, seed=9)
    generate(spec, tmp_path / "serial", workers=1)
    generate(spec, tmp_path / "parallel", workers=2)
    assert _files(tmp_path / "serial") == _files(tmp_path / "parallel")


@pytest.fixture(scope="module")
def short_and_long(boroughs):
    return make_borough(boroughs, households=2_000, months=12, seed=3), \
        make_borough(boroughs, households=2_000, months=18, seed=3)


def _parents(table):
    parents = {"rent/tenants": ("tenancy_ref", "rent/tenancies"), "benefits/members": ("claim_ref", "benefits/claims")}
    return parents.get(table.path)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.path)
def test_longer_history_extends_the_shorter_one(short_and_long, table):
    short, long = short_and_long
    extract_date = pd.Timestamp(json.loads((short / "manifest.json").read_text())["extract_date"])
    a, b = load_table(short, table.path).data, load_table(long, table.path).data
    if table.knowledge_date:
        b = b[b[table.knowledge_date] <= extract_date]
    if parent := _parents(table):
        b = b[b[parent[0]].isin(load_table(short, parent[1]).data[parent[0]])]
    for col in table.columns:  # an ending after the shorter extract's date is not yet known to it
        if col.name in ("tenancy_end", "account_end", "end_date"):
            b[col.name] = b[col.name].where(b[col.name] <= extract_date)
    pd.testing.assert_frame_equal(a, b.reset_index(drop=True))


@pytest.mark.parametrize("name", ["homelessness", "fuel_poverty", "crosswalk"])
def test_truth_of_the_shorter_history_is_kept(short_and_long, name):
    short, long = short_and_long
    a = pd.read_parquet(short / "truth" / f"{name}.parquet")
    b = pd.read_parquet(long / "truth" / f"{name}.parquet")
    keys = ["source", "record_id"] if name == "crosswalk" else ["household_id", "as_of"]
    merged = a.merge(b, on=keys, how="left", suffixes=("", "_long"), indicator=True)
    assert (merged["_merge"] == "both").all()
    for col in a.columns.difference(keys):
        pd.testing.assert_series_equal(merged[col], merged[f"{col}_long"], check_names=False)
