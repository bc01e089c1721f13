"""Why a household scored as it did: TreeSHAP contributions, told in plain English from the feature dictionary.

Contributions come from LightGBM's own TreeSHAP (`pred_contrib`), which is what SHAP's TreeExplainer
computes for a LightGBM model (a test checks they agree); they are in the booster's raw (log-odds) units
and add up, with the expected value, to the raw score. Reasons are the features that moved a household's
score most, each with its direction, so a caseworker reads "Rent arrears of 9.2 weeks (raises the risk)".
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from features.dictionary import BY_NAME, Feature

BAND_LETTERS = {"epc_band": "ABCDEFG", "ct_band": "ABCDEFGH"}
RECOVERY_STAGES = ("no recovery action", "a reminder", "a final notice", "a summons", "a liability order",
                   "enforcement agents")


def contributions(model, rows: pd.DataFrame) -> pd.DataFrame:
    """One column per feature plus `expected_value`; each row sums to the household's raw score."""
    values = model.contributions(model.matrix(rows))
    return pd.DataFrame(values, columns=[*model.features, "expected_value"], index=rows.index)


def _months(value: float) -> str:
    return "less than a month" if value < 0.5 else "1 month" if round(value) == 1 else f"{value:.0f} months"


def describe(feature: Feature, value) -> str:
    """The feature's value in plain English, as the dictionary words it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{feature.meaning}: not known"
    if feature.name == "ct_highest_stage_12m" and value == int(value) and 0 <= value < len(RECOVERY_STAGES):
        return f"Council tax recovery in the last 12 months: {RECOVERY_STAGES[int(value)]}"
    if feature.kind == "flag" and not value:
        return feature.absent or f"{feature.meaning}: no"
    if feature.kind == "count" and not value:
        return f"{feature.meaning}: none ({feature.window})"
    if not feature.reason:
        return f"{feature.meaning}: {value:,.4g}"
    letters = BAND_LETTERS.get(feature.name, "")
    if feature.kind == "band" and not (value == int(value) and 1 <= value <= len(letters)):
        return f"{feature.meaning}: {value:,.4g}"  # a value no band has: said as it is, never as a wrong band
    label = letters[int(value) - 1] if feature.kind == "band" else ""
    months = _months(value) if "{months}" in feature.reason else ""
    return feature.reason.format(value=value, label=label, months=months)


def reasons(model, rows: pd.DataFrame, top: int = 3, contribution: pd.DataFrame | None = None) -> list[list[dict]]:
    """For each row, the TOP features that moved its score most: feature, text, direction, contribution."""
    contribution = contributions(model, rows) if contribution is None else contribution
    values = contribution[model.features].to_numpy()
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :top]
    raw = rows[model.features]
    out = []
    for i, picks in enumerate(order):
        said = []
        for j in picks:
            name, effect = model.features[j], float(values[i, j])
            if effect == 0:
                continue
            value = raw.iat[i, j]
            value = None if pd.isna(value) else (value if isinstance(value, str) else float(value))
            said.append({"feature": name, "text": describe(BY_NAME[name], value),
                         "direction": "raises" if effect > 0 else "lowers", "contribution": round(effect, 4)})
        out.append(said)
    return out


def sentences(explained: list[list[dict]]) -> list[list[str]]:
    """Reasons as the sentences a risk list carries: "Rent arrears of 9.2 weeks (raises the risk)"."""
    return [[f"{r['text']} ({r['direction']} the risk)" for r in row] for row in explained]
