"""Shared small boroughs: generated once per test session, in a temporary folder."""
from pathlib import Path

import pytest

from synth import BoroughSpec, generate


def make_borough(root: Path, **spec) -> Path:
    out = root / "-".join(f"{k}{v}" for k, v in sorted(spec.items()))
    if not (out / "manifest.json").exists():
        generate(BoroughSpec(**spec), out)
    return out


@pytest.fixture(scope="session")
def boroughs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("boroughs")


@pytest.fixture(scope="session")
def small_borough(boroughs) -> Path:
    """2,000 households over 24 months: enough for mechanics, seconds to make."""
    return make_borough(boroughs, households=2_000, months=24, seed=5)


@pytest.fixture(scope="session")
def calibration_borough(boroughs) -> Path:
    """20,000 households over 36 months: large enough for published rates to be measured."""
    return make_borough(boroughs, households=20_000, months=36, seed=11)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Every test gets its own UPSTREAM_HOME, as independent instances would, and MLflow pointed at nothing:
    mlflow.set_tracking_uri writes MLFLOW_TRACKING_URI into the environment, which would carry one test's
    store into the next."""
    monkeypatch.setenv("UPSTREAM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)


@pytest.fixture(scope="session")
def small_links(small_borough):
    from features.linkage import link

    return link(small_borough)


@pytest.fixture(scope="session")
def small_matrix(small_borough, small_links, tmp_path_factory):
    import pandas as pd

    from features.build import build_matrix

    return pd.read_parquet(build_matrix(small_borough, small_links, tmp_path_factory.mktemp("matrix") / "m.parquet",
                                        b"test-secret"))


@pytest.fixture(scope="session")
def model_borough(boroughs) -> Path:
    """10,000 households over 32 months: enough labelled months for rolling temporal splits, and enough
    positives (about 120 a test window) for a model's skill to show."""
    return make_borough(boroughs, households=10_000, months=32, seed=8)


@pytest.fixture(scope="session")
def model_matrix(model_borough, tmp_path_factory) -> Path:
    """The feature matrix file (with its key map beside it) for the model borough."""
    from features.build import build_matrix
    from features.linkage import link

    out = tmp_path_factory.mktemp("model-matrix") / "features.parquet"
    return build_matrix(model_borough, link(model_borough), out, b"test-secret")


@pytest.fixture
def quick_experiment(tmp_path) -> Path:
    """An experiment file an analyst might write to iterate fast: few trees, two splits, two candidates."""
    path = tmp_path / "quick.yaml"
    path.write_text("name: quick-homelessness\ntarget: homelessness\ncapacity: 30\nnegative_sample: 0.5\n"
                    "splits: {count: 2, test_months: 2, calibration_months: 2}\n"
                    "model: {num_boost_round: 60, early_stopping_rounds: 20}\n"
                    "search: [{num_leaves: 7}, {num_leaves: 15}]\n")
    return path


@pytest.fixture
def postgres_database():
    """A fresh database on the local PostgreSQL server (the production option), dropped afterwards."""
    import uuid

    import psycopg

    name = f"upstream_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True)
    admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        admin.close()
