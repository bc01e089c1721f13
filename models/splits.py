"""Temporal validation, as triage does it: train on the past, leave the label window as a gap, test later.

A split stands at a deployment date T (its first test month). Everything fitted for it must have had
its label observed by T: a row at as-of date t is labelled by what happens in [t, t + window), so
calibration rows need t + window <= T and training rows need t + window <= the first calibration month
(the booster must not have seen the calibration rows' outcomes). No test date lies inside a training or
calibration label window, and no rows are split at random.

A cross-fitted split (models/learner.py:fit_cross_fitted) trains on every month whose labels are known by
T, calibration months included: its calibrator sees only scores from boosters that never saw the household.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Split:
    name: str
    train: list[pd.Timestamp]
    calibration: list[pd.Timestamp]
    test: list[pd.Timestamp]

    def describe(self) -> dict:
        def span(dates):
            return f"{dates[0]:%Y-%m} to {dates[-1]:%Y-%m}" if dates else "none"

        return {"train": span(self.train), "calibration": span(self.calibration), "test": span(self.test)}


def _months_before(date: pd.Timestamp, months: int) -> pd.Timestamp:
    return date - pd.DateOffset(months=months)


def plan_split(dates: list[pd.Timestamp], deploy: pd.Timestamp, window: int, calibration_months: int,
               test_months: int, name: str, cross_fitted: bool = False) -> Split:
    """The split deployed at DEPLOY, over the labelled as-of DATES (sorted month starts)."""
    last_cal = _months_before(deploy, window)
    calibration = [d for d in dates if _months_before(last_cal, calibration_months) < d <= last_cal]
    first_cal = calibration[0] if calibration else last_cal
    train = [d for d in dates if d <= (last_cal if cross_fitted else _months_before(first_cal, window))]
    test = [d for d in dates if deploy <= d < deploy + pd.DateOffset(months=test_months)]
    return Split(name, train, calibration, test)


def rolling_splits(labelled: list[pd.Timestamp], window: int, count: int, calibration_months: int,
                   test_months: int, cross_fitted: bool = False) -> list[Split]:
    """COUNT back-to-back test windows ending at the latest labelled month, oldest first. Splits without
    training or calibration months are dropped (a short history gives fewer splits, never a leaky one)."""
    dates = sorted(pd.Timestamp(d) for d in labelled)
    splits = []
    for i in range(count):
        deploy = _months_before(dates[-1], test_months * (i + 1) - 1)
        split = plan_split(dates, deploy, window, calibration_months, test_months, f"test {deploy:%Y-%m}",
                           cross_fitted)
        if split.train and split.calibration and split.test:
            splits.append(split)
    if not splits:
        raise ValueError(f"{len(dates)} labelled months are too few for a split: need a training month, a "
                         f"{window}-month gap, {calibration_months} calibration months, another gap and a test month")
    return splits[::-1]


def production_split(labelled: list[pd.Timestamp], window: int, calibration_months: int,
                     cross_fitted: bool = False) -> Split:
    """The registered model, fitted on all it may use: calibrated on the latest labelled months, so first
    usable `window` months after the latest labelled as-of date (the month after the extract)."""
    dates = sorted(pd.Timestamp(d) for d in labelled)
    deploy = dates[-1] + pd.DateOffset(months=window)
    return plan_split(dates, deploy, window, calibration_months, 0, "production", cross_fitted)
