"""Reasons on the serving path: the ethics layer's plain English, computed from arrays.

`ethics.explain.reasons` works on DataFrames; a request scores one household in well under a millisecond,
so here the same choice (the features that moved the raw score most, zero effects left out) is made on the
booster's TreeSHAP array and worded by `ethics.explain.describe`. A test checks both give the same reasons.
"""
from __future__ import annotations

import math

import numpy as np

from ethics.explain import describe
from serving import treeshap
from features.dictionary import BY_NAME
from models.learner import CATEGORICAL, RiskModel

TOP = 3
BOROUGH_ROWS = 5000  # from here on, grouping households by their way through each tree pays off


def value_of(model: RiskModel, name: str, coded: float):
    """A feature's value as the dictionary words it: the ward's name, a number, or None when missing."""
    if math.isnan(coded):
        return None
    return model.wards[int(coded)] if name in CATEGORICAL else float(coded)


def threads(rows: int) -> int:
    """One thread for a few rows: OpenMP's start-up costs more than it saves (0.9 -> 0.25 ms for one
    household's TreeSHAP); 0 (all cores) for a batch."""
    return 1 if rows < 64 else 0


def raw(model: RiskModel, x: np.ndarray) -> np.ndarray:
    """The booster's raw score (log-odds), as RiskModel.raw, with threads fitted to the batch."""
    return model.booster.predict(x, raw_score=True, num_threads=threads(len(x)))


def wording(name: str, value) -> str:
    """The dictionary's plain English; a value outside what the dictionary knows (a client can send a recovery
    stage of 9) is said plainly rather than failing the request."""
    feature = BY_NAME[name]
    try:
        return describe(feature, value)
    except (IndexError, ValueError, OverflowError):
        return f"{feature.meaning}: {value:,.4g}" if isinstance(value, float) else f"{feature.meaning}: {value}"


def contributions(model: RiskModel, x: np.ndarray) -> np.ndarray:
    """Per-feature TreeSHAP contributions to the raw score, last column the expected value (a whole borough
    goes tree by tree through `treeshap`, the same numbers in a third of the time)."""
    if len(x) >= BOROUGH_ROWS:
        return treeshap.contributions(model.booster, x)
    return model.booster.predict(x, pred_contrib=True, num_threads=threads(len(x)))


def detailed(model: RiskModel, x: np.ndarray, contrib: np.ndarray, top: int | None = TOP) -> list[list[dict]]:
    """For each row, the features that moved its score most (all of them when TOP is None)."""
    effects = contrib[:, :-1]
    order = np.argsort(-np.abs(effects), axis=1, kind="stable")
    order = order if top is None else order[:, :top]
    out = []
    for i, picks in enumerate(order):
        said = []
        for j in picks:
            effect = float(effects[i, j])
            if effect == 0 and top is not None:
                continue
            name = model.features[j]
            value = value_of(model, name, float(x[i, j]))
            said.append({"feature": name, "value": value, "text": wording(name, value),
                         "direction": "raises" if effect > 0 else "lowers" if effect < 0 else "no effect",
                         "contribution": effect})
        out.append(said)
    return out


def sentences(model: RiskModel, x: np.ndarray, contrib: np.ndarray) -> list[list[str]]:
    """The top reasons as a risk list carries them: "Rent arrears of 9.2 weeks (raises the risk)"."""
    return [[f"{r['text']} ({r['direction']} the risk)" for r in row] for row in detailed(model, x, contrib)]
