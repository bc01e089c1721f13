"""How good a score is, as the people who use it would ask.

Ranking (ROC AUC, average precision, lift at the top 1%), probability (Brier score, calibration error),
and the caseworker's question: of the `capacity` households we can reach each month, how many would
have needed us (precision@k), and what share of all who needed us did we reach (recall@k).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

CALIBRATION_BINS = 20


def calibration_error(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error over equal-count bins of the score: the mean gap between the average
    score and the observed rate, weighted by bin size."""
    order = np.argsort(p, kind="stable")
    gaps = [len(b) * abs(p[b].mean() - y[b].mean()) for b in np.array_split(order, bins) if len(b)]
    return float(sum(gaps) / len(p))


def calibration_floor(p: np.ndarray, bins: int = CALIBRATION_BINS, draws: int = 100, seed: int = 0) -> float:
    """The calibration error a perfectly calibrated scorer would show on these rows: outcomes drawn from the
    scores themselves. On a few thousand rows it is far from 0, so read calibration error against it."""
    order = np.argsort(p, kind="stable")
    bin_of = np.empty(len(p), dtype=int)
    for i, b in enumerate(np.array_split(order, bins)):
        bin_of[b] = i
    size = np.bincount(bin_of, minlength=bins)
    mean_score = np.bincount(bin_of, weights=p, minlength=bins)
    rng = np.random.default_rng(seed)
    errors = [np.abs(mean_score - np.bincount(bin_of, weights=rng.random(len(p)) < p, minlength=bins)).sum()
              for _ in range(draws)]
    return float(np.mean(errors) / len(p)) if len(p) else float("nan")


def calibration_curve(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    order = np.argsort(p, kind="stable")
    parts = [b for b in np.array_split(order, bins) if len(b)]
    return pd.DataFrame({"mean_score": [p[b].mean() for b in parts], "observed": [y[b].mean() for b in parts],
                         "n": [len(b) for b in parts]})


def top_k(frame: pd.DataFrame, score: str, k) -> pd.DataFrame:
    """Each month's K highest scores (ties broken by the row order, which is the household key's). K is a
    number or a Series of numbers by as-of date."""
    ranked = frame.sort_values(["as_of", score], ascending=[True, False], kind="stable")
    position = ranked.groupby("as_of", sort=False).cumcount()
    limit = ranked["as_of"].map(k) if isinstance(k, pd.Series) else k
    return ranked[position < limit]


def at_capacity(frame: pd.DataFrame, score: str, label: str, k) -> tuple[float, float]:
    """Precision and recall at K households a month (a number or a Series by as-of), averaged over months."""
    chosen = top_k(frame, score, k).groupby("as_of")[label].agg(["sum", "size"])
    positives = frame.groupby("as_of")[label].sum()
    precision = (chosen["sum"] / chosen["size"]).mean()
    recall = (chosen["sum"] / positives.reindex(chosen.index).where(lambda p: p > 0)).mean()
    return float(precision), float(recall)


def labelled_share(frame: pd.DataFrame, residents: pd.Series | None) -> pd.Series:
    """By as-of date, the share of resident households that carry a label (1 when all do)."""
    labelled = frame.groupby("as_of").size()
    if residents is None:
        return pd.Series(1.0, index=labelled.index)
    return (labelled / residents.reindex(labelled.index)).fillna(1).clip(upper=1)


def capacity_by_month(share: pd.Series, capacity: int) -> pd.Series:
    """The capacity in labelled rows. Where only some households are labelled (fuel poverty is observed
    for those assessed), the caseworker list's top CAPACITY of all residents is the same top share of the
    labelled rows, so precision there estimates the list's precision."""
    return (capacity * share).round().clip(lower=1).astype(int)


def lift_at(y: np.ndarray, p: np.ndarray, share: float = 0.01) -> float:
    n = max(int(round(len(p) * share)), 1)
    top = np.argsort(-p, kind="stable")[:n]
    return float(y[top].mean() / y.mean()) if y.mean() > 0 else float("nan")


def evaluate(frame: pd.DataFrame, label: str, capacity, rank: str, probability: str | None = None) -> dict:
    """Every metric for one scorer on one test window: ranking metrics on the RANK column, probability
    metrics on PROBABILITY (a rule's flag is not a probability: its Brier score and calibration error are
    NaN)."""
    y = frame[label].to_numpy().astype(float)
    r = frame[rank].to_numpy().astype(float)
    both_classes = 0 < y.sum() < len(y)
    precision, recall = at_capacity(frame, rank, label, capacity)
    p = frame[probability].to_numpy().astype(float) if probability else None
    return {
        "rows": len(y), "positives": int(y.sum()), "base_rate": float(y.mean()),
        "auc": float(roc_auc_score(y, r)) if both_classes else float("nan"),
        "average_precision": float(average_precision_score(y, r)) if both_classes else float("nan"),
        "brier": float(brier_score_loss(y, np.clip(p, 0, 1))) if p is not None else float("nan"),
        "calibration_error": calibration_error(y, p) if p is not None else float("nan"),
        "calibration_floor": calibration_floor(p) if p is not None else float("nan"),
        "lift_top1pct": lift_at(y, r),
        "precision_at_k": precision, "recall_at_k": recall,
    }
