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
    """Every test gets its own UPSTREAM_HOME, as independent instances would."""
    monkeypatch.setenv("UPSTREAM_HOME", str(tmp_path / "home"))


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
