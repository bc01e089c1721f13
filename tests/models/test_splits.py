"""Temporal validation: every split trains on the past, leaves the label window as a gap, tests later."""
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.splits import production_split, rolling_splits


def months(first: str, count: int) -> list[pd.Timestamp]:
    return list(pd.date_range(first, periods=count, freq="MS"))


def label_end(date: pd.Timestamp, window: int) -> pd.Timestamp:
    """The first month whose events a row at DATE does not see: its label covers [date, date + window)."""
    return date + pd.DateOffset(months=window)


@settings(max_examples=200, deadline=None)
@given(history=st.integers(8, 60), window=st.integers(1, 12), count=st.integers(1, 5),
       test_months=st.integers(1, 6), calibration_months=st.integers(1, 6))
def test_no_test_month_lies_inside_a_training_or_calibration_label_window(history, window, count, test_months,
                                                                          calibration_months):
    dates = months("2023-10-01", history)
    try:
        splits = rolling_splits(dates, window, count, calibration_months, test_months)
    except ValueError:
        return  # too short a history: refusing is right (checked below)
    for split in splits:
        first_test = min(split.test)
        assert max(label_end(d, window) for d in split.train) <= min(split.calibration)
        assert max(label_end(d, window) for d in split.calibration) <= first_test
        assert set(split.train).isdisjoint(split.test) and set(split.calibration).isdisjoint(split.test)
        assert len(split.test) <= test_months and len(split.calibration) <= calibration_months


def test_rolling_splits_are_back_to_back_ending_at_the_latest_month():
    dates = months("2023-10-01", 30)
    splits = rolling_splits(dates, window=6, count=3, calibration_months=3, test_months=3)
    assert [s.test for s in splits] == [dates[21:24], dates[24:27], dates[27:30]]
    # the three months whose labels close by the first test month, and training whose labels close by those
    assert splits[-1].calibration == dates[19:22]
    assert splits[-1].train == dates[:14]


def test_a_history_too_short_for_any_split_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="too few for a split"):
        rolling_splits(months("2024-01-01", 10), window=6, count=2, calibration_months=3, test_months=3)


def test_the_production_model_uses_the_latest_months_whose_labels_are_known():
    dates = months("2023-10-01", 30)
    split = production_split(dates, window=6, calibration_months=3)
    assert split.calibration == dates[-3:]
    assert split.train == dates[:-3 - 5]
    assert max(label_end(d, 6) for d in split.train) <= min(split.calibration)


@settings(max_examples=200, deadline=None)
@given(history=st.integers(8, 60), window=st.integers(1, 12), count=st.integers(1, 5),
       test_months=st.integers(1, 6), calibration_months=st.integers(1, 24))
def test_a_cross_fitted_split_trains_on_every_month_whose_labels_closed_before_the_test(
        history, window, count, test_months, calibration_months):
    dates = months("2023-10-01", history)
    try:
        splits = rolling_splits(dates, window, count, calibration_months, test_months, cross_fitted=True)
    except ValueError:
        return
    for split in splits:
        first_test = min(split.test)
        assert max(label_end(d, window) for d in split.train) <= first_test
        assert split.train == [d for d in dates if label_end(d, window) <= first_test]
        assert set(split.calibration) <= set(split.train) and set(split.train).isdisjoint(split.test)


def test_one_calibration_fold_is_refused():
    from models.experiment import Experiment
    with pytest.raises(ValueError, match="at least 2"):
        Experiment(name="x", target="fuel_poverty", calibration_folds=1)
