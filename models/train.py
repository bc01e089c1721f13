"""Train and validate one target: rolling temporal splits, model against baselines (and the oracle when
the data is a synthetic borough), then the production model fitted on everything it may use.

Pure computation: nothing here talks to MLflow (models/tracking.py does) or reads truth/ (the oracle is
passed in by the caller as a function of household key and as-of date).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models import baselines, learner, metrics
from models.experiment import Experiment
from models.splits import Split, production_split, rolling_splits

Oracle = Callable[[pd.DataFrame], np.ndarray]  # (household_key, as_of) rows -> true probability, NaN if unknown
SCORERS = ("model", "rule", "logistic", "oracle")
LOGISTIC_MAX_ROWS = 300_000


@dataclass
class TrainingResult:
    experiment: Experiment
    model: learner.RiskModel
    splits: list[Split]
    production: Split
    metrics: pd.DataFrame  # one row per split x scorer
    predictions: pd.DataFrame  # every test row with each scorer's rank and probability columns
    search: list[dict] = field(default_factory=list)
    share: pd.Series | None = None  # by as-of date, the share of residents that carry a label

    def latest(self, scorer: str) -> dict:
        rows = self.metrics[(self.metrics["split"] == self.splits[-1].name) & (self.metrics["scorer"] == scorer)]
        return rows.iloc[0].to_dict() if len(rows) else {}


def labelled(matrix: pd.DataFrame, exp: Experiment) -> pd.DataFrame:
    rows = matrix[matrix[exp.label].notna()]
    if exp.as_of_start:
        rows = rows[rows["as_of"] >= pd.Timestamp(exp.as_of_start)]
    if exp.as_of_end:
        rows = rows[rows["as_of"] <= pd.Timestamp(exp.as_of_end)]
    if rows.empty:
        raise ValueError(f"no labelled rows for {exp.target} in the matrix (as-of range {exp.as_of_start} to "
                         f"{exp.as_of_end})")
    return rows.astype({exp.label: "int64"})


def _rows(frame: pd.DataFrame, dates: list[pd.Timestamp]) -> pd.DataFrame:
    return frame[frame["as_of"].isin(dates)]


def _logistic(exp: Experiment, train: pd.DataFrame):
    if len(train) > LOGISTIC_MAX_ROWS:
        train = train.sample(LOGISTIC_MAX_ROWS, random_state=exp.seed)
    return baselines.logistic_regression(exp.features, exp.seed).fit(train[exp.features], train[exp.label])


def _fit_logistic(exp: Experiment, train: pd.DataFrame, cal: pd.DataFrame):
    lr = _logistic(exp, train)
    calibrator = learner.Calibrator.fit(exp.calibration, lr.decision_function(cal[exp.features]),
                                        cal[exp.label].to_numpy())
    return lr, calibrator


def _fit_logistic_cross(exp: Experiment, rows: pd.DataFrame, calibration_dates: list):
    """The logistic regression calibrated as the model is, on out-of-fold scores over the calibration months."""
    scores, labels = learner.cross_fit(rows, calibration_dates, exp.label, exp.calibration_folds,
                                       exp.negative_sample, exp.seed, lambda train, _: _logistic(exp, train),
                                       lambda lr, frame: lr.decision_function(frame[exp.features]))
    lr = _logistic(exp, learner.sample_negatives(rows, exp.label, exp.negative_sample, exp.seed))
    return lr, learner.Calibrator.fit(exp.calibration, scores, labels)


def _fitters(exp: Experiment, data: pd.DataFrame, split: Split):
    """For SPLIT: a function fitting the model with given LightGBM parameters, and the fitted logistic
    regression, both calibrated the experiment's way (on the later window, or cross-fitted)."""
    train_rows, cal_rows = _rows(data, split.train), _rows(data, split.calibration)
    if exp.calibration_folds:
        def fit_model(params):
            return learner.fit_cross_fitted(exp.target, exp.features, train_rows, split.calibration, exp.label,
                                            params, exp.calibration, exp.seed, exp.calibration_folds,
                                            exp.negative_sample)
        return fit_model, lambda: _fit_logistic_cross(exp, train_rows, split.calibration)
    sampled = learner.sample_negatives(train_rows, exp.label, exp.negative_sample, exp.seed)

    def fit_model(params):
        return learner.fit(exp.target, exp.features, sampled, cal_rows, exp.label, params, exp.calibration,
                           exp.seed)
    return fit_model, lambda: _fit_logistic(exp, sampled, cal_rows)


def score_test(exp: Experiment, model: learner.RiskModel, test: pd.DataFrame, oracle: Oracle | None,
               logistic=None) -> pd.DataFrame:
    """Each scorer's ranking column (`<scorer>_rank`) and, but for the rule, its probability (`<scorer>`)."""
    out = test[["household_key", "as_of", exp.label]].copy()
    x = model.matrix(test)
    out["model_rank"] = model.raw(x)
    out["model"] = model.calibrator(out["model_rank"].to_numpy())
    out["rule_rank"] = baselines.rule_flag(test, exp.target)
    if logistic is not None:
        lr, lr_cal = logistic
        out["logistic_rank"] = lr.decision_function(test[exp.features])
        out["logistic"] = lr_cal(out["logistic_rank"].to_numpy())
    if oracle is not None:
        out["oracle"] = oracle(out[["household_key", "as_of"]])
        out["oracle_rank"] = out["oracle"]
    return out


def scorer_metrics(scored: pd.DataFrame, label: str, k) -> list[dict]:
    """Every metric for each scorer SCORED holds, at K households a month (a number or a Series by as-of)."""
    rows = []
    for scorer in SCORERS:
        if f"{scorer}_rank" not in scored:
            continue
        frame = scored
        if scorer == "oracle":  # the oracle is measured where the truth knows the household
            frame = scored[scored["oracle"].notna()]
            if frame.empty:
                continue
        probability = None if scorer == "rule" else scorer
        rows.append({"scorer": scorer, **metrics.evaluate(frame, label, k, f"{scorer}_rank", probability)})
    return rows


def _split_metrics(exp: Experiment, split: Split, scored: pd.DataFrame, share: pd.Series) -> list[dict]:
    k = metrics.capacity_by_month(share, exp.capacity)
    rows = [{"split": split.name, **r, **split.describe()} for r in scorer_metrics(scored, exp.label, k)]
    by = {r["scorer"]: r for r in rows}
    if "oracle" in by:
        m, o = by["model"], by["oracle"]
        m["auc_skill"] = (m["auc"] - 0.5) / (o["auc"] - 0.5)
        m["precision_ratio"] = m["precision_at_k"] / o["precision_at_k"] if o["precision_at_k"] else float("nan")
    m = by["model"]
    m["precision_vs_rule"] = m["precision_at_k"] / by["rule"]["precision_at_k"] if by["rule"]["precision_at_k"] \
        else float("inf")
    return rows


def train(matrix: pd.DataFrame, exp: Experiment, oracle: Oracle | None = None,
          progress: Callable[[str], None] = lambda _: None, residents: pd.Series | None = None) -> TrainingResult:
    """RESIDENTS: households resident per as-of date, when the matrix holds only the labelled rows."""
    data = labelled(matrix, exp)
    share = metrics.labelled_share(data, residents)
    dates = sorted(data["as_of"].unique())
    cross = exp.calibration_folds > 0
    splits = rolling_splits(dates, exp.window, exp.splits.count, exp.splits.calibration_months,
                            exp.splits.test_months, cross)
    production = production_split(dates, exp.window, exp.splits.calibration_months, cross)

    # The small search runs on the latest split; the winner is refitted on every other split.
    progress(f"searching {len(exp.search)} candidate(s) on {splits[-1].name}")
    best, tried = learner.search([{**exp.model, **c} for c in exp.search], _fitters(exp, data, splits[-1])[0])
    params = best.params
    rows, scored_all = [], []
    for split in splits:
        progress(f"validating on {split.name}")
        fit_model, fit_logistic = _fitters(exp, data, split)
        model = best if split is splits[-1] else fit_model(params)
        scored = score_test(exp, model, _rows(data, split.test), oracle, fit_logistic())
        rows += _split_metrics(exp, split, scored, share)
        scored_all.append(scored.assign(split=split.name))
    progress("fitting the production model")
    final = _fitters(exp, data, production)[0](params)
    deploy = production.calibration[-1] + pd.DateOffset(months=exp.window)
    final.info = {**production.describe(), "label_window_months": exp.window, "capacity": exp.capacity,
                  "first_usable_as_of": f"{deploy:%Y-%m-%d}"}
    return TrainingResult(exp, final, splits, production, pd.DataFrame(rows), pd.concat(scored_all), tried,
                          share)
