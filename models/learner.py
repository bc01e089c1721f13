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


def sample_negatives(frame: pd.DataFrame, label: str, share: float, seed: int) -> pd.DataFrame:
    if share >= 1:
        return frame
    keep = (frame[label] == 1) | (np.random.default_rng(seed).random(len(frame)) < share)
    return frame[keep]


def fit(target: str, features: list[str], train: pd.DataFrame, calibration: pd.DataFrame, label: str,
        params: dict, calibration_method: str, seed: int) -> RiskModel:
    """Fit the booster on TRAIN (stopping early on CALIBRATION), then the calibrator on CALIBRATION."""
    wards = sorted(train["ward"].dropna().unique().tolist()) if "ward" in features else []
    shell = RiskModel(target, features, wards, None, None, params)
    merged = {**BASE_PARAMS, **params, "seed": seed}
    rounds, patience = merged.pop("num_boost_round"), merged.pop("early_stopping_rounds")
    categorical = [i for i, name in enumerate(features) if name in CATEGORICAL]
    x_train, x_cal = shell.matrix(train), shell.matrix(calibration)
    y_cal = calibration[label].to_numpy()
    dtrain = lgb.Dataset(x_train, train[label].to_numpy(), categorical_feature=categorical or "auto",
                         free_raw_data=True)
    dcal = lgb.Dataset(x_cal, y_cal, reference=dtrain)
    shell.booster = lgb.train(merged, dtrain, num_boost_round=rounds, valid_sets=[dcal],
                              callbacks=[lgb.early_stopping(patience, verbose=False)])
    shell.calibrator = Calibrator.fit(calibration_method, shell.raw(x_cal), y_cal)
    return shell


def search(target: str, features: list[str], train: pd.DataFrame, calibration: pd.DataFrame, label: str,
           candidates: list[dict], calibration_method: str, seed: int) -> tuple[RiskModel, list[dict]]:
    """Try each candidate; keep the one with the best average precision on the calibration window."""
    tried, best = [], None
    for params in candidates:
        model = fit(target, features, train, calibration, label, params, calibration_method, seed)
        score = average_precision_score(calibration[label], model.raw(model.matrix(calibration)))
        tried.append({**params, "average_precision": float(score), "trees": model.booster.best_iteration})
        if best is None or score > best[0]:
            best = (score, model)
    return best[1], tried
