"""The risk model: a LightGBM booster, then a calibrator that turns its score into a probability.

Training keeps every positive and a sample of negatives (rare outcomes, 2 cores); the calibrator is fitted
on a later window at the true base rate, which also undoes the sampling. Households are ranked by the
booster's raw score: the calibrated probability is monotone in it but has plateaus, and a ranking must not
break ties at random.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

CATEGORICAL = ("ward",)
# Early stopping watches AUC on the calibration window: the booster's job is the ranking (the calibrator
# makes the probabilities), and log loss there is skewed by training on sampled negatives.
BASE_PARAMS = {
    "objective": "binary", "metric": "auc", "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 100,
    "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
    "num_threads": 2, "verbose": -1, "num_boost_round": 600, "early_stopping_rounds": 50,
}


@dataclass
class Calibrator:
    """Isotonic (a monotone step curve, linearly interpolated) or Platt (a logistic curve) on raw scores."""
    method: str
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)

    @classmethod
    def fit(cls, method: str, raw: np.ndarray, labels: np.ndarray) -> Calibrator:
        if method == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(raw, labels)
            return cls(method, iso.X_thresholds_.tolist(), iso.y_thresholds_.tolist())
        platt = LogisticRegression(C=1e6).fit(raw.reshape(-1, 1), labels)
        return cls(method, [float(platt.coef_[0, 0])], [float(platt.intercept_[0])])

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        if self.method == "isotonic":
            return np.interp(raw, self.x, self.y)
        return 1 / (1 + np.exp(-(self.x[0] * raw + self.y[0])))


@dataclass
class RiskModel:
    target: str
    features: list[str]
    wards: list[str]
    booster: lgb.Booster
    calibrator: Calibrator
    params: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)  # provenance: data fingerprint, training windows, first usable month

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The booster's input: features in order as float64, the ward as its code (unknown: missing)."""
        columns = []
        for name in self.features:
            if name in CATEGORICAL:
                codes = pd.Index(self.wards).get_indexer(frame[name]).astype("float64")
                columns.append(np.where(codes < 0, np.nan, codes))
            else:
                columns.append(pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan))
        return np.column_stack(columns) if columns else np.empty((len(frame), 0))

    def raw(self, x: np.ndarray) -> np.ndarray:
        return self.booster.predict(x, raw_score=True)

    def probability(self, x: np.ndarray) -> np.ndarray:
        return self.calibrator(self.raw(x))

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Per-feature contributions to the raw score (TreeSHAP), last column the expected value."""
        return self.booster.predict(x, pred_contrib=True)

    def save(self, folder: Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / "booster.txt"))
        meta = {"target": self.target, "features": self.features, "wards": self.wards, "params": self.params,
                "info": self.info,
                "calibrator": {"method": self.calibrator.method, "x": self.calibrator.x, "y": self.calibrator.y}}
        (folder / "model.json").write_text(json.dumps(meta, indent=1))
        return folder

    @classmethod
    def load(cls, folder: Path) -> RiskModel:
        folder = Path(folder)
        meta = json.loads((folder / "model.json").read_text())
        return cls(meta["target"], meta["features"], meta["wards"],
                   lgb.Booster(model_file=str(folder / "booster.txt")), Calibrator(**meta["calibrator"]),
                   meta.get("params", {}), meta.get("info", {}))


def negatives_kept(frame: pd.DataFrame, label: str, share: float, seed: int) -> np.ndarray:
    """Which rows training keeps: every positive and SHARE of the negatives."""
    if share >= 1:
        return np.ones(len(frame), dtype=bool)
    return ((frame[label] == 1) | (np.random.default_rng(seed).random(len(frame)) < share)).to_numpy()


def sample_negatives(frame: pd.DataFrame, label: str, share: float, seed: int) -> pd.DataFrame:
    return frame[negatives_kept(frame, label, share, seed)]


def household_folds(keys: pd.Series, folds: int) -> np.ndarray:
    """A fixed fold for each household (from a hash of its key), the same for all its months."""
    return pd.util.hash_pandas_object(keys.reset_index(drop=True), index=False).to_numpy() % folds


def trees_used(booster: lgb.Booster) -> int:
    """The trees a prediction uses: up to the best iteration when training stopped early."""
    return booster.best_iteration or booster.current_iteration()


def _shell(target: str, features: list[str], train: pd.DataFrame, params: dict) -> RiskModel:
    wards = sorted(train["ward"].dropna().unique().tolist()) if "ward" in features else []
    return RiskModel(target, features, wards, None, None, params)


def _booster(shell: RiskModel, train: pd.DataFrame, label: str, params: dict, seed: int,
             valid: pd.DataFrame | None = None, rounds: int | None = None) -> lgb.Booster:
    """Stop early on VALID, or grow exactly ROUNDS trees."""
    merged = {**BASE_PARAMS, **params, "seed": seed}
    most, patience = merged.pop("num_boost_round"), merged.pop("early_stopping_rounds")
    categorical = [i for i, name in enumerate(shell.features) if name in CATEGORICAL]
    dtrain = lgb.Dataset(shell.matrix(train), train[label].to_numpy(), categorical_feature=categorical or "auto",
                         free_raw_data=True)
    if valid is None:
        return lgb.train(merged, dtrain, num_boost_round=rounds)
    dvalid = lgb.Dataset(shell.matrix(valid), valid[label].to_numpy(), reference=dtrain)
    return lgb.train(merged, dtrain, num_boost_round=most, valid_sets=[dvalid],
                     callbacks=[lgb.early_stopping(patience, verbose=False)])


def fit(target: str, features: list[str], train: pd.DataFrame, calibration: pd.DataFrame, label: str,
        params: dict, calibration_method: str, seed: int) -> RiskModel:
    """Fit the booster on TRAIN (stopping early on CALIBRATION), then the calibrator on CALIBRATION."""
    shell = _shell(target, features, train, params)
    shell.booster = _booster(shell, train, label, params, seed, valid=calibration)
    raw, y = shell.raw(shell.matrix(calibration)), calibration[label].to_numpy()
    shell.calibrator = Calibrator.fit(calibration_method, raw, y)
    shell.info["calibration_average_precision"] = float(average_precision_score(y, raw))
    return shell


def cross_fit(rows: pd.DataFrame, calibration_dates: list, label: str, folds: int, negative_share: float,
              seed: int, fit_fold, score) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold scores for the rows in the calibration months: for each household fold, FIT_FOLD(training
    rows of the other households, negatives sampled; this fold's calibration rows) makes a model and SCORE
    scores this fold's calibration rows with it. Returns the scores and their labels."""
    fold = household_folds(rows["household_key"], folds)
    kept = negatives_kept(rows, label, negative_share, seed)
    held = rows["as_of"].isin(calibration_dates).to_numpy()
    scores, labels = [], []
    for f in range(folds):
        mine = held & (fold == f)
        scores.append(score(fit_fold(rows[kept & (fold != f)], rows[mine]), rows[mine]))
        labels.append(rows.loc[mine, label].to_numpy())
    return np.concatenate(scores), np.concatenate(labels)


def fit_cross_fitted(target: str, features: list[str], rows: pd.DataFrame, calibration_dates: list, label: str,
                     params: dict, calibration_method: str, seed: int, folds: int,
                     negative_share: float) -> RiskModel:
    """Cross-fitted calibration (as scikit-learn's CalibratedClassifierCV, folds by household): the booster
    trains on every row of ROWS (negatives sampled), and the calibrator is fitted on out-of-fold scores over
    the CALIBRATION_DATES, at the true base rate. The first fold stops early; every other booster, the kept
    one included, grows as many trees, so the scores the calibrator learnt from are on the kept one's scale.

    Worth it when the calibration window must span a whole year: council tax recovery runs on the financial
    year, so a calibrator fitted on the latest quarter alone misreads the next one (fuel poverty)."""
    trees = []

    def fit_fold(train, valid):
        part = _shell(target, features, rows, params)
        part.booster = _booster(part, train, label, params, seed, valid=None if trees else valid,
                                rounds=trees[0] if trees else None)
        trees.append(trees_used(part.booster))
        return part

    raw, y = cross_fit(rows, calibration_dates, label, folds, negative_share, seed, fit_fold,
                          lambda part, frame: part.raw(part.matrix(frame)))
    shell = _shell(target, features, rows, params)
    shell.booster = _booster(shell, sample_negatives(rows, label, negative_share, seed), label, params, seed,
                             rounds=trees[0])
    shell.calibrator = Calibrator.fit(calibration_method, raw, y)
    shell.info["calibration_average_precision"] = float(average_precision_score(y, raw))
    return shell


def search(candidates: list[dict], fit_one) -> tuple[RiskModel, list[dict]]:
    """Try each candidate with FIT_ONE(params); keep the one with the best average precision on the
    calibration months (out of fold, when cross-fitted)."""
    tried, best = [], None
    for params in candidates:
        model = fit_one(params)
        score = model.info["calibration_average_precision"]
        tried.append({**params, "average_precision": score, "trees": trees_used(model.booster)})
        if best is None or score > best[0]:
            best = (score, model)
    return best[1], tried
