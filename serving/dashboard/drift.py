"""Drift of the score distribution month by month, from the stored risk lists: the mean and upper
quantiles, and the population stability index (PSI) against the first month each version scored.
PSI under 0.1 is usually read as stable, 0.1 to 0.25 as a shift worth a look, above 0.25 as a real shift."""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import sqlalchemy as sa

from serving import risk_lists
from serving.database import available, engine

EDGES = 10  # deciles of the reference month


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, EDGES + 1)[1:-1]))
    expected = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1) / len(reference)
    actual = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1) / len(current)
    expected, actual = np.clip(expected, 1e-6, None), np.clip(actual, 1e-6, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def score_drift(target: str) -> list[dict]:
    """One row per (model version, month) of TARGET's stored lists, oldest month first. Computed again only
    when a list is written: reading every stored score (a borough's households times the months scored)
    took seconds on each visit to the page."""
    c = risk_lists.risk_lists.c
    with available(), engine().connect() as db:
        written = tuple(db.execute(sa.select(c.as_of, c.model_version, sa.func.max(c.written_at))
                                   .where(c.target == target).group_by(c.as_of, c.model_version)
                                   .order_by(c.as_of, c.model_version)).all())
    return _drift(target, written)


@functools.lru_cache(maxsize=8)
def _drift(target: str, written: tuple) -> list[dict]:
    c = risk_lists.risk_lists.c
    with available(), engine().connect() as db:
        frame = pd.DataFrame(db.execute(sa.select(c.as_of, c.model_version, c.score).where(c.target == target)).all(),
                             columns=["as_of", "model_version", "score"])
    rows = []
    for version, months in frame.groupby("model_version", sort=True):
        reference = None
        for as_of, scores in months.groupby("as_of", sort=True):
            values = scores["score"].to_numpy("float64")
            reference = values if reference is None else reference
            rows.append({"model_version": version, "as_of": as_of, "households": len(values),
                         "mean": float(values.mean()), "p90": float(np.quantile(values, 0.9)),
                         "p99": float(np.quantile(values, 0.99)), "psi": psi(reference, values)})
    return rows
