"""The measures people read: calibration error, precision and recall at capacity, lift."""
import numpy as np
import pandas as pd
import pytest

from models import metrics


def test_calibration_error_is_near_zero_for_true_probabilities_and_large_for_inflated_ones():
    rng = np.random.default_rng(0)
    p = rng.beta(1, 30, 200_000)
    y = (rng.random(len(p)) < p).astype(float)
    assert metrics.calibration_error(y, p) < 0.002
    assert metrics.calibration_error(y, np.clip(p * 2, 0, 1)) > 0.02


def test_precision_and_recall_at_capacity_count_each_months_top_k():
    frame = pd.DataFrame({
        "as_of": pd.to_datetime(["2025-01-01"] * 4 + ["2025-02-01"] * 4),
        "score": [0.9, 0.8, 0.1, 0.0, 0.7, 0.6, 0.5, 0.4],
        "label": [1, 0, 1, 0, 0, 0, 1, 1],
    })
    precision, recall = metrics.at_capacity(frame, "score", "label", 2)
    assert precision == pytest.approx((1 / 2 + 0 / 2) / 2)
    assert recall == pytest.approx((1 / 2 + 0 / 2) / 2)


def test_capacity_scales_to_the_labelled_share_of_residents():
    share = metrics.labelled_share(pd.DataFrame({"as_of": pd.to_datetime(["2025-01-01"] * 100)}),
                                   pd.Series({pd.Timestamp("2025-01-01"): 1000}))
    assert metrics.capacity_by_month(share, 250).iloc[0] == 25


def test_lift_at_the_top_percent():
    y = np.zeros(1000)
    y[:10] = 1
    p = np.linspace(1, 0, 1000)
    assert metrics.lift_at(y, p) == pytest.approx(100.0)
    assert metrics.lift_at(y, -p) == pytest.approx(0.0)


def test_the_calibration_floor_is_what_a_perfectly_calibrated_scorer_shows_on_so_few_rows():
    rng = np.random.default_rng(3)
    p = rng.beta(1, 5, 8_000)
    drawn = np.mean([metrics.calibration_error((rng.random(len(p)) < p).astype(float), p) for _ in range(100)])
    floor = metrics.calibration_floor(p)
    assert abs(floor - drawn) < 0.1 * drawn
    assert metrics.calibration_floor(np.tile(p, 50)) < floor / 5  # more rows, a lower floor
