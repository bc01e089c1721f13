"""Which features the model leans on across the borough, and how the households it flags differ.

Global SHAP views of a registered version on a sample of its held-out months: mean |SHAP| importance
(bar), the spread of effects (beeswarm) and dependence plots for the top features, plus a table of feature
means for the households flagged at capacity against everyone else. Plots carry no identifiers: each dot
is an unlabelled household-month, and every table is an average over at least MIN_FLAGGED households.
"""
from __future__ import annotations

import io
import re
import textwrap
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shap  # noqa: E402

from ethics.explain import contributions  # noqa: E402
from features.dictionary import BY_NAME  # noqa: E402

SAMPLE = 5000
TOP = 10
DEPENDENCE = 4
MIN_FLAGGED = 10


def meaning(feature: str) -> str:
    return BY_NAME[feature].meaning if feature in BY_NAME else feature


def label(feature: str) -> str:
    """A plot's axis label: the meaning on up to two lines (cut to one was unreadable: "…liable at this a…"),
    with no "=" (SHAP greys whatever comes before one, taking it for "name = value")."""
    return textwrap.fill(re.sub(r"\s*=\s*", " is ", meaning(feature)), 44, max_lines=2, placeholder=" …")


def explanation(model, rows: pd.DataFrame) -> shap.Explanation:
    values = contributions(model, rows)
    data = rows[model.features].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    return shap.Explanation(values=values[model.features].to_numpy(), base_values=values["expected_value"].to_numpy(),
                            data=data, feature_names=[label(f) for f in model.features])


def importance_table(model, shap_values: shap.Explanation) -> pd.DataFrame:
    mean_abs = np.abs(shap_values.values).mean(axis=0)
    raises = (shap_values.values > 0).mean(axis=0)
    table = pd.DataFrame({"feature": model.features, "meaning": [meaning(f) for f in model.features],
                          "mean_abs_shap": mean_abs, "share_raising": raises})
    return table.sort_values("mean_abs_shap", ascending=False, ignore_index=True)


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def plots(model, shap_values: shap.Explanation, table: pd.DataFrame) -> dict[str, bytes]:
    """PNG bytes by file name: importance bar, beeswarm and one dependence plot per top feature. SHAP jitters
    and shuffles points with NumPy's global random state: seeded here (and put back after), so the same
    report draws the same plots."""
    out, state = {}, np.random.get_state()
    np.random.seed(0)
    try:
        return _drawn(model, shap_values, table, out)
    finally:
        np.random.set_state(state)


def _drawn(model, shap_values: shap.Explanation, table: pd.DataFrame, out: dict) -> dict[str, bytes]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SHAP's misleading "list of ndarray" and colour-bar notices
        fig, ax = plt.subplots(figsize=(9, 7.5))
        shap.plots.bar(shap_values, max_display=TOP + 1, ax=ax, show=False)
        ax.set_title("How much each feature moves scores (mean absolute SHAP value, log-odds)")
        out["shap_importance.png"] = _png(fig)
        fig, ax = plt.subplots(figsize=(9, 7.5))
        shap.plots.beeswarm(shap_values, max_display=TOP + 1, ax=ax, show=False, plot_size=None)
        ax.set_title("Each dot a household-month: its effect on the score, coloured by the feature's value")
        out["shap_beeswarm.png"] = _png(fig)
        for rank, feature in enumerate(table["feature"].head(DEPENDENCE), start=1):
            column = model.features.index(feature)
            fig, ax = plt.subplots(figsize=(7, 5))
            shap.plots.scatter(shap_values[:, column], color=shap_values, ax=ax, show=False,
                               ylabel="SHAP value (log-odds)", title=f"How the score depends on:\n{label(feature)}")
            out[f"shap_dependence_{rank}_{feature}.png"] = _png(fig)
    return out


def flagged_vs_rest(rows: pd.DataFrame, selected: np.ndarray, features: list[str]) -> pd.DataFrame:
    """Mean of each feature for the households flagged at capacity and for the rest of the borough."""
    if selected.sum() < MIN_FLAGGED or (~selected).sum() < MIN_FLAGGED:
        raise ValueError(f"too few flagged households to compare (fewer than {MIN_FLAGGED})")
    features = [f for f in features if pd.api.types.is_numeric_dtype(rows[f])]  # a ward has no mean
    numeric = rows[features].astype(float)
    table = pd.DataFrame({"feature": features, "meaning": [meaning(f) for f in features],
                          "flagged": numeric[selected].mean().to_numpy(), "rest": numeric[~selected].mean().to_numpy()})
    table["ratio"] = table["flagged"] / table["rest"].where(table["rest"] != 0)
    return table


def global_explanation(model, rows: pd.DataFrame, selected: np.ndarray, seed: int = 0) -> dict:
    """ROWS: the held-out household-months with the model's features; SELECTED: flagged at capacity."""
    sample = rows.sample(n=min(SAMPLE, len(rows)), random_state=seed)
    shap_values = explanation(model, sample)
    table = importance_table(model, shap_values)
    top = table["feature"].head(TOP).tolist()
    return {"sample_rows": len(sample), "importance": table, "flagged_vs_rest": flagged_vs_rest(rows, selected, top),
            "plots": plots(model, shap_values, table)}
