"""The borough reproduces published UK figures, and its oracle is neither trivial nor noise."""
import pytest

from synth import TARGETS, calibration_table


@pytest.fixture(scope="module")
def table(calibration_borough):
    return calibration_table(calibration_borough).set_index("figure")


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.figure)
def test_figure_is_in_published_range(table, target):
    generated = table.loc[target.figure, "generated"]
    assert target.low <= generated <= target.high, f"{target.figure}: {generated:.4g} not in " \
                                                   f"[{target.low}, {target.high}] ({target.source})"


def test_every_target_cites_its_source():
    assert all(t.source for t in TARGETS)
    assert len({t.figure for t in TARGETS}) == len(TARGETS)


def test_p_true_is_calibrated_to_outcomes(calibration_borough):
    """outcome ~ Bernoulli(p_true): within each decile of p_true the observed rate matches its mean.

    As-of dates six months apart, so no two outcome windows overlap and rows are close to independent.
    """
    import numpy as np
    import pandas as pd

    truth = pd.read_parquet(calibration_borough / "truth" / "homelessness.parquet")
    dates = sorted(truth["as_of"].unique())[::6]
    truth = truth[truth["as_of"].isin(dates)].copy()
    truth["decile"] = pd.qcut(truth["p_true"].rank(method="first"), 10, labels=False)
    by = truth.groupby("decile").agg(p=("p_true", "mean"), y=("outcome", "mean"), n=("outcome", "size"))
    se = np.sqrt(by["p"] * (1 - by["p"]) / by["n"])
    assert ((by["y"] - by["p"]).abs() <= 4 * se + 1e-4).all(), by
