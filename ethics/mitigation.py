"""What a group-aware threshold would change, and what it would cost in precision at capacity.

Two views, for each attribute the board reviews, on the same held-out rows as the fairness report:

- fairlearn's ThresholdOptimizer (true positive rate parity, best balanced accuracy), fitted on the
  held-out scores. It chooses how many to select as well as whom, so it shows the library's own answer,
  and how far that is from what caseworkers can reach.
- Equal recall at capacity: the same mechanics (one threshold per group, at a recall common to every
  group) with the common recall chosen so that the list reaches exactly as many households as the
  model's own list did. That is the choice a council actually faces, and its cost is the change in
  precision at capacity and in households reached who needed help.

Both are fitted on the labels they are judged on, so they show what group-aware thresholds could do at
best, not a model to deploy. Groups with fewer than MIN_POSITIVES households who needed help are pooled
as "Smaller groups": a threshold fitted to a handful of people is noise.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.base import BaseEstimator, ClassifierMixin

MIN_POSITIVES = 10
POOLED = "Smaller groups"
CONSTRAINT = "true_positive_rate_parity"
OBJECTIVE = "balanced_accuracy_score"
SCORE_BINS = 4000


class HeldOutScores(ClassifierMixin, BaseEstimator):
    """The held-out scores as an already-fitted estimator, so ThresholdOptimizer can post-process them
    (X's one column is the score itself)."""

    def fit(self, x, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict(self, x):
        return np.asarray(x, dtype=float)[:, 0]


def _groups(frame: pd.DataFrame, attribute: str) -> pd.Series:
    positives = frame.loc[frame["label"] == 1, attribute].value_counts()
    small = set(positives[positives < MIN_POSITIVES].index) | (set(frame[attribute]) - set(positives.index))
    return frame[attribute].where(~frame[attribute].isin(small), POOLED).astype(str)


def _summary(frame: pd.DataFrame, groups: pd.Series, chosen: np.ndarray) -> dict:
    y = frame["label"].to_numpy() == 1
    out = {"selected": int(chosen.sum()), "reached": int((chosen & y).sum()),
           "precision": float(y[chosen].mean()) if chosen.any() else None, "recall": {}}
    for group in sorted(groups.unique()):
        needed = y & (groups.to_numpy() == group)
        out["recall"][group] = float(chosen[needed].mean()) if needed.any() else None
    rates = [r for r in out["recall"].values() if r is not None]
    out["recall_ratio_min_max"] = float(min(rates) / max(rates)) if rates and max(rates) > 0 else None
    return out


class _RecallThresholds:
    """Per group, the threshold that reaches a given share of its households who needed help, and how many
    that selects (from sorted scores, so each try of the bisection costs a few binary searches)."""

    def __init__(self, frame: pd.DataFrame, groups: pd.Series):
        self.score, self.groups = frame["rank_score"].to_numpy(), groups.to_numpy()
        y = frame["label"].to_numpy() == 1
        self.by_group = {}
        for group in np.unique(self.groups):
            mine = self.groups == group
            self.by_group[group] = (np.sort(self.score[mine & y])[::-1], np.sort(self.score[mine]))

    def thresholds(self, recall: float) -> dict:
        out = {}
        for group, (needed, _) in self.by_group.items():
            if len(needed) and recall > 0:
                out[group] = needed[min(len(needed), int(np.ceil(recall * len(needed)))) - 1]
        return out

    def count(self, recall: float) -> int:
        total = 0
        for group, threshold in self.thresholds(recall).items():
            everyone = self.by_group[group][1]
            total += len(everyone) - np.searchsorted(everyone, threshold, side="left")
        return int(total)

    def chosen(self, recall: float) -> np.ndarray:
        out = np.zeros(len(self.score), dtype=bool)
        for group, threshold in self.thresholds(recall).items():
            out |= (self.groups == group) & (self.score >= threshold)
        return out


def equal_recall_at_capacity(frame: pd.DataFrame, groups: pd.Series, budget: int) -> tuple[np.ndarray, float]:
    """The largest common recall whose group thresholds select no more than BUDGET rows (bisection: the
    number selected only grows with the recall)."""
    thresholds, low, high = _RecallThresholds(frame, groups), 0.0, 1.0
    for _ in range(40):
        middle = (low + high) / 2
        if thresholds.count(middle) <= budget:
            low = middle
        else:
            high = middle
    return thresholds.chosen(low), low


def threshold_optimizer(frame: pd.DataFrame, groups: pd.Series, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """The library's decisions, and the groups it cannot serve: with nobody (or everybody) in need there is no
    recall to equalise, so those rows are left unselected and named."""
    y = frame["label"].to_numpy()
    rates = pd.Series(y).groupby(groups.to_numpy()).mean()
    left_out = sorted(rates[(rates == 0) | (rates == 1)].index)
    fitted = ~groups.isin(left_out).to_numpy()
    chosen = np.zeros(len(frame), dtype=bool)
    if not 0 < y[fitted].sum() < fitted.sum():
        return chosen, left_out
    optimizer = ThresholdOptimizer(estimator=HeldOutScores().fit(None), constraints=CONSTRAINT, objective=OBJECTIVE,
                                   prefit=True, predict_method="predict")
    # fairlearn walks every distinct score in Python; scores binned at 1/SCORE_BINS quantiles keep the
    # ranking (ties only within a bin) and take seconds instead of minutes on a borough's held-out months
    score = frame["rank_score"].to_numpy()
    edges = np.unique(np.quantile(score, np.linspace(0, 1, SCORE_BINS + 1)))
    x = np.searchsorted(edges, score, side="right").astype(float)[fitted, None]
    sensitive = groups.to_numpy()[fitted]
    optimizer.fit(x, y[fitted], sensitive_features=sensitive)
    chosen[fitted] = optimizer.predict(x, sensitive_features=sensitive, random_state=seed).astype(bool)
    return chosen, left_out


def mitigation(frame: pd.DataFrame, attribute: str, seed: int = 0) -> dict:
    """FRAME: held-out rows with label, rank_score, `selected` (the model's list) and ATTRIBUTE."""
    groups = _groups(frame, attribute)
    current = frame["selected"].to_numpy().astype(bool)
    model = _summary(frame, groups, current)
    capped, recall = equal_recall_at_capacity(frame, groups, int(current.sum()))
    equalised = _summary(frame, groups, capped)
    decisions, left_out = threshold_optimizer(frame, groups, seed)
    library = _summary(frame, groups, decisions)
    cost = None
    if model["precision"] and equalised["precision"] is not None:
        cost = equalised["precision"] - model["precision"]
    return {
        "attribute": attribute, "pooled_groups_below": MIN_POSITIVES,
        "model": model,
        "equal_recall_at_capacity": {**equalised, "common_recall": recall, "precision_change": cost,
                                     "reached_change": equalised["reached"] - model["reached"]},
        "threshold_optimizer": {**library, "constraint": CONSTRAINT, "objective": OBJECTIVE, "left_out": left_out,
                                "times_capacity": library["selected"] / max(1, model["selected"])},
    }
