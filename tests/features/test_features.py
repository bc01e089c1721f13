"""The matrix: pseudonymous, documented, leak-free, and the same on DuckDB and Spark."""
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.build import build_matrix
from features.dictionary import FEATURES, LABELS
from features.linkage import link
from features.sources import TABLES
from tests.conftest import make_borough

FEATURE_NAMES = [f.name for f in FEATURES]


def _matrix(*args, **kwargs) -> pd.DataFrame:
    return pd.read_parquet(build_matrix(*args, **kwargs))


def test_columns_are_keys_features_and_labels(small_matrix):
    assert list(small_matrix.columns) == ["household_key", "as_of", *FEATURE_NAMES, *LABELS]
    assert not small_matrix.duplicated(["household_key", "as_of"]).any()
    in_order = small_matrix.sort_values(["as_of", "household_key"], ignore_index=True)
    pd.testing.assert_frame_equal(small_matrix, in_order)  # as-of date, then household key


def test_no_personal_data_in_the_matrix(small_matrix, small_borough):
    assert not {"uprn", "address", "postcode", "first_name", "last_name", "liable_name"} & set(small_matrix.columns)
    assert small_matrix["household_key"].str.fullmatch(r"[0-9a-f]{20}").all()
    names = set(pd.read_csv(small_borough / "extracts/rent/tenants.csv")["last_name"])
    text = " ".join(small_matrix.select_dtypes(["object", "str"]).astype(str).stack().unique())
    assert not [n for n in names if re.search(rf"\b{re.escape(n)}\b", text)]


def test_same_secret_same_keys_other_secret_other_keys(small_borough, small_links, small_matrix, tmp_path):
    dates = [pd.Timestamp("2024-06-01")]
    again = _matrix(small_borough, small_links, tmp_path / "a.parquet", b"test-secret", as_of=dates)
    other = _matrix(small_borough, small_links, tmp_path / "b.parquet", b"another-secret", as_of=dates)
    first = small_matrix[small_matrix["as_of"] == dates[0]]
    assert set(again["household_key"]) == set(first["household_key"])
    assert not set(other["household_key"]) & set(first["household_key"])


def test_labels_track_the_truth(small_matrix, small_borough):
    truth = pd.read_parquet(small_borough / "truth/homelessness.parquet")
    labelled = small_matrix.dropna(subset=["label_homelessness"])
    assert labelled["as_of"].max() == truth["as_of"].max()  # the last complete 6-month window
    rate, true_rate = labelled["label_homelessness"].mean(), truth["outcome"].mean()
    assert 0.8 * true_rate <= rate <= 1.2 * true_rate
    later = small_matrix[small_matrix["as_of"] > truth["as_of"].max()]
    assert len(later) and later["label_homelessness"].isna().all()
    assert small_matrix["label_fuel_poverty"].notna().mean() < 0.2  # observed for a minority only


def test_missing_sources_are_explicit(small_matrix):
    m = small_matrix
    assert (m["missing_rent_account"] == m["rent_balance"].isna()).all()
    assert (m["missing_epc"] == m["epc_band"].isna()).all()
    assert ((m["tenure_private_rented"] == 1) <= (m["missing_rent_account"] == 1)).all()
    assert 0.1 < m["missing_rent_account"].mean() < 0.95


# --- no leakage: records known on or after the as-of date cannot change any feature ---------------------
AS_OF = pd.Timestamp("2024-06-01")
_END_COLUMNS = {"tenancy_end", "account_end", "end_date"}


def _perturb(folder, rng: np.random.Generator, share: float):
    """Delete or alter a share of every record the council learnt of on or after AS_OF."""
    for table in TABLES:
        if not table.knowledge_date:
            continue
        for path in sorted((folder / "extracts" / table.system).glob(f"{table.name}*")):
            files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
            for file in files:
                csv = file.suffix == ".csv"
                frame = pd.read_csv(file, dtype=str, keep_default_na=False) if csv else pd.read_parquet(file)
                col = table.column(table.knowledge_date)
                known = pd.to_datetime(frame[table.knowledge_date], format=col.date_format, errors="coerce")
                late = (known >= AS_OF).to_numpy()
                hit = late & (rng.random(len(frame)) < share)
                delete = hit & (rng.random(len(frame)) < 0.5)
                for name in frame.columns:
                    if name in ("amount", "weekly_rent", "amount_outstanding", "weekly_amount"):
                        values = pd.to_numeric(frame[name], errors="coerce") * 3 + 1
                        frame[name] = frame[name].where(~hit, values if not csv else values.round(2).astype(str))
                    elif name in ("transaction_type", "stage", "change_type", "duty_owed", "fuel_poor", "band"):
                        frame[name] = frame[name].where(~hit, frame[name].sample(frac=1, random_state=1).to_numpy())
                frame = frame[~delete]
                frame.to_csv(file, index=False) if csv else frame.to_parquet(file, index=False)
    for table in TABLES:  # an ending after AS_OF may move, or vanish, as long as it stays after AS_OF
        for name in _END_COLUMNS & {c.name for c in table.columns}:
            file = folder / "extracts" / table.system / f"{table.name}.csv"
            frame = pd.read_csv(file, dtype=str, keep_default_na=False)
            fmt = table.column(name).date_format
            end = pd.to_datetime(frame[name], format=fmt, errors="coerce")
            late = (end >= AS_OF) & (rng.random(len(frame)) < share)
            frame[name] = frame[name].where(~late, "")
            frame.to_csv(file, index=False)


@pytest.fixture(scope="module")
def leak_borough(boroughs):
    return make_borough(boroughs, households=800, months=24, seed=17)


@pytest.fixture(scope="module")
def leak_reference(leak_borough, tmp_path_factory):
    out = tmp_path_factory.mktemp("leak") / "reference.parquet"
    return _matrix(leak_borough, link(leak_borough), out, b"s", as_of=[AS_OF])


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), share=st.sampled_from([0.3, 1.0]))
def test_records_after_the_as_of_date_change_no_feature(leak_borough, leak_reference, tmp_path_factory, seed, share):
    copy = tmp_path_factory.mktemp("perturbed")
    shutil.copytree(leak_borough / "extracts", copy / "extracts")
    shutil.copy(leak_borough / "manifest.json", copy / "manifest.json")
    _perturb(copy, np.random.default_rng(seed), share)
    perturbed = _matrix(copy, link(copy), copy / "m.parquet", b"s", as_of=[AS_OF])
    pd.testing.assert_frame_equal(perturbed[["household_key", "as_of", *FEATURE_NAMES]],
                                  leak_reference[["household_key", "as_of", *FEATURE_NAMES]])


def test_features_do_not_depend_on_how_long_the_history_runs(boroughs, tmp_path):
    short = make_borough(boroughs, households=800, months=18, seed=23)
    long = make_borough(boroughs, households=800, months=24, seed=23)
    dates = [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-06-01")]
    a = _matrix(short, link(short), tmp_path / "a.parquet", b"s", as_of=dates)
    b = _matrix(long, link(long), tmp_path / "b.parquet", b"s", as_of=dates)
    pd.testing.assert_frame_equal(a[["household_key", "as_of", *FEATURE_NAMES]],
                                  b[["household_key", "as_of", *FEATURE_NAMES]])


def test_duckdb_and_spark_give_the_same_matrix(leak_borough, tmp_path):
    links = link(leak_borough)
    dates = [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-06-01")]
    duck = _matrix(leak_borough, links, tmp_path / "d.parquet", b"s", as_of=dates, engine="duckdb")
    spark = _matrix(leak_borough, links, tmp_path / "s.parquet", b"s", as_of=dates, engine="spark")
    assert len(duck) > 1000
    pd.testing.assert_frame_equal(duck, spark.astype(duck.dtypes.to_dict()), check_exact=False, rtol=1e-9)
