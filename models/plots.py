"""The plots an analyst looks at before reading numbers: how each scorer ranks, whether its probabilities
mean what they say, what a month's capacity buys, and whether skill holds over time."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve  # noqa: E402

from models import metrics  # noqa: E402

COLOURS = {"model": "#1d70b8", "rule": "#d4351c", "logistic": "#f47738", "oracle": "#505a5f"}
LABELS = {"model": "LightGBM (calibrated)", "rule": "Current rule", "logistic": "Logistic regression",
          "oracle": "Oracle (best possible)"}


def _scorers(scored: pd.DataFrame) -> list[str]:
    return [s for s in COLOURS if f"{s}_rank" in scored and scored[f"{s}_rank"].notna().any()]


def _known(scored: pd.DataFrame, scorer: str) -> pd.DataFrame:
    return scored[scored[f"{scorer}_rank"].notna()]


def roc(scored: pd.DataFrame, label: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for s in _scorers(scored):
        f = _known(scored, s)
        fpr, tpr, _ = roc_curve(f[label], f[f"{s}_rank"])
        ax.plot(fpr, tpr, color=COLOURS[s], label=f"{LABELS[s]} (AUC {roc_auc_score(f[label], f[f'{s}_rank']):.3f})")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set(xlabel="False positive rate", ylabel="True positive rate (recall)", title="ROC, latest test window")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def precision_recall(scored: pd.DataFrame, label: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for s in _scorers(scored):
        f = _known(scored, s)
        precision, recall, _ = precision_recall_curve(f[label], f[f"{s}_rank"])
        ax.plot(recall, precision, color=COLOURS[s], label=LABELS[s])
    ax.axhline(scored[label].mean(), ls=":", color="grey", label="Base rate")
    ax.set(xlabel="Recall", ylabel="Precision", title="Precision-recall, latest test window")
    ax.legend(fontsize=8)
    return fig


def calibration(scored: pd.DataFrame, label: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    top = 0.0
    for s in ("model", "logistic", "oracle"):
        if s not in scored or scored[s].isna().all():
            continue
        f = scored[scored[s].notna()]
        curve = metrics.calibration_curve(f[label].to_numpy(), f[s].to_numpy())
        ax.plot(curve["mean_score"], curve["observed"], "o-", ms=3, color=COLOURS[s], label=LABELS[s])
        top = max(top, curve["mean_score"].max(), curve["observed"].max())
    ax.plot([0, top], [0, top], ":", color="grey", label="Perfect calibration")
    ax.set(xlabel="Mean predicted probability (20 equal-size bins)", ylabel="Observed rate",
           title="Calibration, latest test window")
    ax.legend(fontsize=8)
    return fig


def precision_at_k(scored: pd.DataFrame, label: str, capacity: int, share: pd.Series) -> plt.Figure:
    ks = sorted({int(k) for k in np.unique(np.geomspace(10, max(capacity * 8, 100), 16).round())} | {capacity})
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for s in _scorers(scored):
        known = _known(scored, s)
        precision = [metrics.at_capacity(known, f"{s}_rank", label, metrics.capacity_by_month(share, k))[0]
                     for k in ks]
        ax.plot(ks, precision, "o-", ms=3, color=COLOURS[s], label=LABELS[s])
    ax.axvline(capacity, ls="--", color="black", lw=0.8, label=f"Capacity ({capacity} a month)")
    ax.set(xscale="log", xlabel="Households contacted a month (k, of all residents)", ylabel="Precision@k",
           title="What each month's capacity finds, latest test window")
    ax.legend(fontsize=8)
    return fig


def skill_over_time(scored: pd.DataFrame, label: str, capacity: int, share: pd.Series) -> plt.Figure:
    """Per test month: AUC and precision at capacity of each scorer."""
    rows = []
    for as_of, month in scored.groupby("as_of"):
        for s in _scorers(month):
            f = _known(month, s)
            if 0 < f[label].sum() < len(f):
                rows.append({"as_of": as_of, "scorer": s, "auc": roc_auc_score(f[label], f[f"{s}_rank"]),
                             "precision": metrics.at_capacity(f, f"{s}_rank", label,
                                                                 metrics.capacity_by_month(share, capacity))[0]})
    table = pd.DataFrame(rows)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for s, g in table.groupby("scorer", sort=False) if len(table) else []:
        axes[0].plot(g["as_of"], g["auc"], "o-", ms=3, color=COLOURS[s], label=LABELS[s])
        axes[1].plot(g["as_of"], g["precision"], "o-", ms=3, color=COLOURS[s], label=LABELS[s])
    axes[0].set(ylabel="ROC AUC", title="Ranking skill by test month")
    axes[1].set(ylabel=f"Precision at capacity ({capacity})", title="Precision at capacity by test month")
    for ax in axes:
        ax.tick_params(axis="x", rotation=45)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def all_figures(scored_latest: pd.DataFrame, scored_all: pd.DataFrame, label: str, capacity: int,
                share: pd.Series) -> dict:
    figures = {"roc.png": roc(scored_latest, label), "precision_recall.png": precision_recall(scored_latest, label),
               "calibration.png": calibration(scored_latest, label),
               "precision_at_k.png": precision_at_k(scored_latest, label, capacity, share),
               "skill_over_time.png": skill_over_time(scored_all, label, capacity, share)}
    for fig in figures.values():
        fig.tight_layout()
    return figures
