"""Fairness at caseworker capacity: who the model selects, and whom it misses, group by group.

Selection is what caseworkers act on: each month's top `capacity` households. Prevention is assistive and
capacity is small, so the primary criterion is recall (true positive rate) parity: a group whose members
who go on to need help are reached less often is the harm to look for (the Aequitas fairness tree's
advice for assistive interventions). Selection rate, false positive rate, precision, AUC and calibration
are shown too. Disparity is each group's ratio to a stated reference group, the largest recorded one,
judged by the 0.8-1.25 rule. Groups of fewer than 10 distinct households are suppressed, not shown as
zeros (rates count household-months: a household is in each test month it was resident).

Point estimates come from fairlearn's MetricFrame. Recall's interval, which the verdicts use, is Wilson's
over the households in need (see wilson); the other rates have intervals from a Poisson bootstrap done on
each group's counts (see _intervals): MetricFrame's own bootstrap took 371 s per attribute on 325,000 rows
here. AUC and calibration (mean score against observed rate) have bootstrap intervals too (_score_intervals).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from fairlearn.metrics import (MetricFrame, false_negative_rate, false_positive_rate, selection_rate,
                               true_positive_rate)
from sklearn.metrics import precision_score, roc_auc_score

from features.equality import NOT_RECORDED
from models.metrics import top_k

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
    """Each month's top `capacity_rows` by the model's ranking score, as the model's metrics choose them."""
    chosen = top_k(frame, "rank_score", frame.groupby("as_of")["capacity_rows"].first())
    return frame.index.isin(chosen.index)


def _precision(y_true, y_pred, sample_weight=None):
    return precision_score(y_true, y_pred, sample_weight=sample_weight, zero_division=np.nan)


def _auc(frame: pd.DataFrame) -> float:
    y = frame["label"].to_numpy()
    return roc_auc_score(y, frame["score"].to_numpy()) if 0 < y.sum() < len(y) else np.nan


def _point_estimates(frame: pd.DataFrame, attribute: str) -> pd.DataFrame:
    """The rates from MetricFrame, given each group's (label, selected) cells weighted by their counts: the
    same numbers as row by row, which took MetricFrame minutes on a million rows. AUC and calibration need
    the scores, so they come from the rows."""
    cells = frame.groupby([attribute, "label", "selected"], observed=True).size().rename("households").reset_index()
    rates = {"selection_rate": selection_rate, "tpr": true_positive_rate, "fnr": false_negative_rate,
             "fpr": false_positive_rate, "precision": _precision}
    weighted = {name: {"sample_weight": cells["households"].to_numpy()} for name in rates}
    table = MetricFrame(metrics=rates, y_true=cells["label"].to_numpy(), y_pred=cells["selected"].to_numpy(),
                        sensitive_features=cells[attribute], sample_params=weighted).by_group
    by_group = frame.groupby(attribute, observed=True)
    table["n"] = by_group.size()
    table["households"] = by_group["household_key"].nunique()
    table["households_in_need"] = frame[frame["label"] == 1].groupby(attribute, observed=True)[
        "household_key"].nunique().reindex(table.index, fill_value=0)
    table["mean_score"], table["observed_rate"] = by_group["score"].mean(), by_group["label"].mean()
    table["base_rate"] = table["observed_rate"]
    table["auc"] = pd.Series({group: _auc(rows) for group, rows in by_group})
    return table


def _intervals(frame: pd.DataFrame, attribute: str, seed: int) -> dict[str, pd.DataFrame]:
    """95% intervals for the rates by a Poisson bootstrap. With Poisson(1) weights per row, a cell of c rows
    (a group's households with a given label and selection) weighs Poisson(c) in total, so resampling the
    four cells of each group is the same bootstrap as resampling rows, at the cost of the groups alone."""
    y, s = frame["label"].to_numpy().astype(bool), frame["selected"].to_numpy().astype(bool)
    cells = pd.crosstab(frame[attribute], [y, s]).reindex(
        columns=pd.MultiIndex.from_product([[False, True], [False, True]]), fill_value=0)
    draws = np.random.default_rng(seed).poisson(cells.to_numpy(), size=(BOOTSTRAPS, *cells.shape)).astype(float)
    # the cells in order (label, selected): (0, 0), (0, 1), (1, 0), (1, 1)
    true_neg, false_pos, missed, true_pos = (draws[..., i] for i in range(4))
    n = draws.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a group with no positives has no recall interval
        rates = {"base_rate": (missed + true_pos) / n, "selection_rate": (false_pos + true_pos) / n,
                 "tpr": true_pos / (true_pos + missed),
                 "fpr": false_pos / (false_pos + true_neg), "precision": true_pos / (true_pos + false_pos)}
        return {m: pd.DataFrame(np.nanquantile(r, [0.025, 0.975], axis=0).T, index=cells.index,
                                columns=["low", "high"]) for m, r in rates.items()}


def _score_intervals(frame: pd.DataFrame, attribute: str, seed: int, draws: int = BOOTSTRAPS // 2) -> dict:
    """95% intervals for each group's AUC and calibration gap (mean score minus observed rate), by the same
    Poisson bootstrap on rows. AUC counts ties as half (isotonic calibration makes many), from the weights
    of each class at each distinct score, so a resample costs two bincounts, not a sort."""
    rng = np.random.default_rng(seed + 1000)
    out = {}
    for group, rows in frame.groupby(attribute, observed=True):
        y = rows["label"].to_numpy().astype(bool)
        score = rows["score"].to_numpy()
        both = 0 < y.sum() < len(y)  # AUC needs both classes; the calibration gap does not
        levels, level = np.unique(score, return_inverse=True)
        aucs, gaps = [], []
        for _ in range(draws):
            w = rng.poisson(1.0, len(y)).astype(float)
            gaps.append(((w * score).sum() - (w * y).sum()) / max(w.sum(), 1.0))
            if both:
                pos = np.bincount(level[y], weights=w[y], minlength=len(levels))
                neg = np.bincount(level[~y], weights=w[~y], minlength=len(levels))
                below, product = np.cumsum(neg) - neg, pos.sum() * neg.sum()
                aucs.append((pos * (below + 0.5 * neg)).sum() / product if product else np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # no AUC in a resample without both classes
            auc = tuple(np.nanquantile(aucs, [0.025, 0.975])) if both else (np.nan, np.nan)
        out[group] = {"auc": auc, "calibration_gap": tuple(np.quantile(gaps, [0.025, 0.975]))}
    return out


def _verdict(ratio: float) -> str:
    if not np.isfinite(ratio):
        return "not assessable"
    return "within 0.8-1.25" if FAIR_RANGE[0] <= ratio <= FAIR_RANGE[1] else "disparity"


def wilson(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion: unlike the bootstrap, it does not collapse to a point when
    a small group has no successes (0 of 5 reached is not proof of a recall of 0). Recall is over
    household-months, but a household's months are not independent: the interval takes N as the number of
    households in need, the cautious end of the design effect (as if each household's months were one)."""
    if n == 0:
        return (np.nan, np.nan)
    p = successes / n
    centre, spread = p + z * z / (2 * n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, (centre - spread) / (1 + z * z / n)), min(1.0, (centre + spread) / (1 + z * z / n)))


def _clear(row: dict, base: dict) -> bool:
    """A disparity the data can vouch for: the group's whole recall interval lies outside the fair range
    around the reference group's whole interval. A small group's ratio (or the reference's) can fall
    outside by chance alone."""
    low, high = row.get("tpr_wilson") or (None, None)
    base_low, base_high = base.get("tpr_wilson") or (None, None)
    if row["verdict"] != "disparity" or low is None or base_low is None or row.get("reference"):
        return False
    return high < FAIR_RANGE[0] * base_low or low > FAIR_RANGE[1] * base_high


def reference_group(frame: pd.DataFrame, attribute: str) -> str:
    """The largest group whose attribute was recorded (for an intersection, every part of it)."""
    recorded = frame.loc[~frame[attribute].str.lower().str.contains(NOT_RECORDED.lower()), attribute]
    return (recorded if len(recorded) else frame[attribute]).value_counts().index[0]


def _clean(value):
    return None if value is None or (isinstance(value, float) and not np.isfinite(value)) else float(value)


def attribute_rows(frame: pd.DataFrame, attribute: str, seed: int = 0) -> tuple[list[dict], str]:
    table = _point_estimates(frame, attribute)
    ci = _intervals(frame, attribute, seed)
    score_ci = _score_intervals(frame, attribute, seed)
    reference = reference_group(frame, attribute)
    rows = []
    for group, r in table.iterrows():
        n, households = int(r["n"]), int(r["households"])
        if households < MIN_GROUP:
            rows.append({"attribute": attribute, "group": str(group), "n": None, "households": None,
                         "suppressed": True})
            continue
        positives = int(round(r["base_rate"] * n))
        row = {"attribute": attribute, "group": str(group), "n": n, "households": households, "positives": positives,
               "suppressed": False, "reference": group == reference}
        for metric in ("base_rate", "selection_rate", "tpr", "fnr", "fpr", "precision", "auc", "mean_score",
                       "observed_rate"):
            row[metric] = _clean(r[metric])
        row["households_in_need"] = int(r["households_in_need"])
        if not positives:  # nobody in the group needed help in these months: recall is undefined, not zero
            row["tpr"] = row["fnr"] = None
        else:  # one household's months are one piece of evidence, not several: n is households, not months
            row["tpr_wilson"] = [_clean(b) for b in wilson(row["tpr"] * row["households_in_need"],
                                                           row["households_in_need"])]
        for metric, bounds in ci.items():
            row[f"{metric}_ci"] = [_clean(bounds.loc[group, "low"]), _clean(bounds.loc[group, "high"])]
        row["fnr_ci"] = [None if b is None else 1 - b for b in reversed(row["tpr_ci"])]
        row["calibration_gap"] = _clean(r["mean_score"] - r["observed_rate"])
        for metric, bounds in score_ci[group].items():
            row[f"{metric}_ci"] = [_clean(b) for b in bounds]
        rows.append(row)
    base = next((row for row in rows if row.get("reference")), {})
    for row in rows:
        if row["suppressed"]:
            continue
        for metric in ("tpr", "selection_rate", "fpr", "precision"):
            mine, theirs = row[metric], base.get(metric)
            row[f"{metric}_ratio"] = mine / theirs if mine is not None and theirs else None
        row["verdict"] = _verdict(row["tpr_ratio"] if row["tpr_ratio"] is not None else np.nan)
        row["clear_disparity"] = _clear(row, base)
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
        "overall": {"base_rate": float(frame["label"].mean()), "selection_rate": float(frame["selected"].mean()),
                    "tpr": float(frame.loc[frame["label"] == 1, "selected"].mean()),
                    "precision": float(frame.loc[frame["selected"], "label"].mean())},
        "groups": groups,
    }
