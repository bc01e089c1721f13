"""Fairness at caseworker capacity: who the model selects, and whom it misses, group by group.

Selection is what caseworkers act on: each month's top `capacity` households. Prevention is assistive and
capacity is small, so the primary criterion is recall (true positive rate) parity: a group whose members
who go on to need help are reached less often is the harm to look for (the Aequitas fairness tree's
advice for assistive interventions). Selection rate, false positive rate, precision, AUC and calibration
are shown too. Disparity is each group's ratio to a stated reference group, the largest recorded one,
judged by the 0.8-1.25 rule. Groups of fewer than 10 households are suppressed, not shown as zeros.

Point estimates come from fairlearn's MetricFrame. Intervals come from a Poisson bootstrap over rows
(counts per group by bincount): MetricFrame's own bootstrap took 371 s per attribute on 325,000 rows here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from fairlearn.metrics import (MetricFrame, count, false_negative_rate, false_positive_rate, selection_rate,
                               true_positive_rate)
from sklearn.metrics import precision_score, roc_auc_score

from features.equality import NOT_RECORDED

MIN_GROUP = 10
FAIR_RANGE = (0.8, 1.25)
PRIMARY = "tpr"
BOOTSTRAPS = 200
TENURE = {"tenure_council": "Council", "tenure_housing_association": "Housing association",
          "tenure_private_rented": "Private rented (known)"}


def tenure(frame: pd.DataFrame) -> pd.Series:
    """Tenure as the council's records show it; everyone else is an owner or a private renter it cannot see."""
    out = pd.Series("Owner or not known", index=frame.index, dtype=object)
    for column, name in TENURE.items():
        out[frame[column].fillna(0).to_numpy() == 1] = name
    return out


def selected_at_capacity(frame: pd.DataFrame) -> np.ndarray:
    """Each month's top `capacity_rows` by the model's ranking score."""
    rank = frame.groupby("as_of")["rank_score"].rank(method="first", ascending=False)
    return (rank <= frame["capacity_rows"]).to_numpy()


def _precision(y_true, y_pred):
    return precision_score(y_true, y_pred, zero_division=np.nan)


def _auc(y_true, y_score):
    return roc_auc_score(y_true, y_score) if 0 < np.sum(y_true) < len(y_true) else np.nan


def _point_estimates(frame: pd.DataFrame, attribute: str) -> pd.DataFrame:
    y, chosen, groups = frame["label"].to_numpy(), frame["selected"].to_numpy(), frame[attribute]
    on_selection = MetricFrame(metrics={"n": count, "selection_rate": selection_rate, "tpr": true_positive_rate,
                                        "fnr": false_negative_rate, "fpr": false_positive_rate,
                                        "precision": _precision},
                               y_true=y, y_pred=chosen, sensitive_features=groups)
    on_scores = MetricFrame(metrics={"auc": _auc, "mean_score": lambda t, s: float(np.mean(s)),
                                     "observed_rate": lambda t, s: float(np.mean(t))},
                            y_true=y, y_pred=frame["score"].to_numpy(), sensitive_features=groups)
    table = on_selection.by_group.join(on_scores.by_group)
    table["base_rate"] = table["observed_rate"]
    return table


def _intervals(frame: pd.DataFrame, attribute: str, seed: int) -> dict[str, pd.DataFrame]:
    """95% intervals for the rates, from Poisson(1) row weights: per resample, weighted counts per group."""
    codes, names = pd.factorize(frame[attribute])
    y, s = frame["label"].to_numpy().astype(bool), frame["selected"].to_numpy().astype(bool)
    rng = np.random.default_rng(seed)
    k = len(names)
    draws = {m: np.empty((BOOTSTRAPS, k)) for m in ("selection_rate", "tpr", "fpr", "precision")}
    for b in range(BOOTSTRAPS):
        w = rng.poisson(1.0, len(codes)).astype(float)

        def total(mask):
            return np.bincount(codes, weights=w * mask, minlength=k)

        n, tp, pos, sel = total(np.ones_like(y)), total(y & s), total(y), total(s)
        with np.errstate(invalid="ignore", divide="ignore"):
            draws["selection_rate"][b] = sel / n
            draws["tpr"][b] = tp / pos
            draws["fpr"][b] = (sel - tp) / (n - pos)
            draws["precision"][b] = tp / sel
    return {m: pd.DataFrame(np.nanquantile(d, [0.025, 0.975], axis=0).T, index=names, columns=["low", "high"])
            for m, d in draws.items()}


def _verdict(ratio: float) -> str:
    if not np.isfinite(ratio):
        return "not assessable"
    return "within 0.8-1.25" if FAIR_RANGE[0] <= ratio <= FAIR_RANGE[1] else "disparity"


def reference_group(frame: pd.DataFrame, attribute: str) -> str:
    """The largest group whose attribute was recorded (for an intersection, every part of it)."""
    recorded = frame.loc[~frame[attribute].str.lower().str.contains(NOT_RECORDED.lower()), attribute]
    return (recorded if len(recorded) else frame[attribute]).value_counts().index[0]


def _clean(value):
    return None if value is None or (isinstance(value, float) and not np.isfinite(value)) else float(value)


def attribute_rows(frame: pd.DataFrame, attribute: str, seed: int = 0) -> tuple[list[dict], str]:
    table = _point_estimates(frame, attribute)
    ci = _intervals(frame, attribute, seed)
    reference = reference_group(frame, attribute)
    rows = []
    for group, r in table.iterrows():
        n = int(r["n"])
        if n < MIN_GROUP:
            rows.append({"attribute": attribute, "group": str(group), "n": None, "suppressed": True})
            continue
        positives = int(round(r["base_rate"] * n))
        row = {"attribute": attribute, "group": str(group), "n": n, "positives": positives, "suppressed": False,
               "reference": group == reference}
        for metric in ("base_rate", "selection_rate", "tpr", "fnr", "fpr", "precision", "auc", "mean_score",
                       "observed_rate"):
            row[metric] = _clean(r[metric])
        if not positives:  # nobody in the group needed help in these months: recall is undefined, not zero
            row["tpr"] = row["fnr"] = None
        for metric, bounds in ci.items():
            row[f"{metric}_ci"] = [_clean(bounds.loc[group, "low"]), _clean(bounds.loc[group, "high"])]
        rows.append(row)
    base = next((row for row in rows if row.get("reference")), {})
    for row in rows:
        if row["suppressed"]:
            continue
        for metric in ("tpr", "selection_rate", "fpr", "precision"):
            mine, theirs = row[metric], base.get(metric)
            row[f"{metric}_ratio"] = mine / theirs if mine is not None and theirs else None
        row["verdict"] = _verdict(row["tpr_ratio"] if row["tpr_ratio"] is not None else np.nan)
    return rows, reference


def fairness(frame: pd.DataFrame, attributes: list[str], capacity: int) -> dict:
    """Every number of the fairness report. FRAME: held-out rows with label, score, rank_score,
    capacity_rows, and one column per attribute."""
    frame = frame.assign(selected=selected_at_capacity(frame))
    groups, references = [], {}
    for i, attribute in enumerate(attributes):
        rows, references[attribute] = attribute_rows(frame, attribute, seed=i)
        groups += rows
    return {
        "capacity": capacity, "primary_metric": PRIMARY, "fair_range": list(FAIR_RANGE),
        "min_group_size": MIN_GROUP, "reference_groups": references,
        "rows": len(frame), "months": sorted(f"{d:%Y-%m}" for d in frame["as_of"].unique()),
        "overall": {"selection_rate": float(frame["selected"].mean()),
                    "tpr": float(frame.loc[frame["label"] == 1, "selected"].mean()),
                    "precision": float(frame.loc[frame["selected"], "label"].mean())},
        "groups": groups,
    }
