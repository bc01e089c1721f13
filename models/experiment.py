"""An experiment: what to predict, from which features, validated how. Analysts copy and edit the YAML.

Every field has a default, so a file need only say what differs; unknown fields are refused, so a typo
never silently falls back to a default.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from features.dictionary import FEATURES, LABEL_WINDOW_MONTHS

TARGETS = ("homelessness", "fuel_poverty")
REGISTERED_NAMES = {"homelessness": "homelessness-risk", "fuel_poverty": "fuel-poverty-risk"}
FEATURE_GROUPS = sorted({f.group for f in FEATURES})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ROUNDS = ("num_boost_round", "early_stopping_rounds")  # read by models/learner.py, not passed to LightGBM


def lightgbm_parameters(params: dict, where: str = "") -> dict:
    """PARAMS if LightGBM knows every name and accepts every value (checked by growing one tree on a few
    rows): a misspelt name would otherwise be ignored by LightGBM, and a bad value fail only mid-training."""
    import lightgbm as lgb
    import numpy as np

    known = set().union(*lgb.basic._ConfigAliases._get_all_param_aliases().values(), ROUNDS)
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"{where}{', '.join(unknown)} "
                         + ("is not a LightGBM parameter" if len(unknown) == 1 else "are not LightGBM parameters")
                         + " (https://lightgbm.readthedocs.io/en/stable/Parameters.html)")
    for name in ROUNDS:
        if name in params and (isinstance(params[name], bool) or not isinstance(params[name], int)
                               or params[name] < 1):
            raise ValueError(f"{where}{name} must be a whole number of at least 1, not {params[name]!r}")
    rest = {k: v for k, v in params.items() if k not in ROUNDS}
    try:
        rows = lgb.Dataset(np.arange(40.0).reshape(20, 2), label=[0, 1] * 10, params={"verbose": -1})
        lgb.train({**rest, "verbose": -1, "num_threads": 1}, rows, num_boost_round=1)
    except (lgb.basic.LightGBMError, TypeError, ValueError) as exc:
        said = re.sub(r" at \S+, line \d+ ?\.?$", "", str(exc).strip())  # where in LightGBM's C++ it failed
        raise ValueError(f"{where}LightGBM refuses {rest}: {said}") from None
    return params


class Splits(Strict):
    count: int = Field(3, ge=1, description="Rolling test windows, latest last")
    test_months: int = Field(3, ge=1, description="As-of months in each test window")
    calibration_months: int = Field(3, ge=1, description="As-of months the calibrator is fitted on")


class Experiment(Strict):
    name: str
    target: Literal["homelessness", "fuel_poverty"]
    description: str = ""
    label_window_months: int | None = Field(None, description="Default: the label's own window")
    as_of_start: dt.date | None = Field(None, description="Earliest as-of date used; default all")
    as_of_end: dt.date | None = Field(None, description="Latest as-of date used; default all")
    feature_groups: list[str] = Field(default_factory=lambda: list(FEATURE_GROUPS), min_length=1)
    capacity: int = Field(250, ge=1, description="Households caseworkers can reach per month")
    splits: Splits = Splits()
    calibration: Literal["isotonic", "platt"] = "isotonic"
    calibration_folds: int = Field(0, ge=0, description=(
        "0: calibrate on the months after training's; 2 or more: train on every month whose labels are known "
        "and calibrate on out-of-fold scores, households in this many folds (models/learner.py)"))
    negative_sample: float = Field(0.3, gt=0, le=1, description="Share of negatives kept for training")
    seed: int = 7
    model: dict = Field(default_factory=dict, description="LightGBM parameters shared by every candidate")
    search: list[dict] = Field(default_factory=lambda: [{}], min_length=1,
                               description="Candidates tried on the latest split")

    @field_validator("feature_groups")
    @classmethod
    def _known_groups(cls, groups: list[str]) -> list[str]:
        unknown = sorted(set(groups) - set(FEATURE_GROUPS))
        if unknown:
            raise ValueError(f"unknown feature groups {unknown}; choose from {FEATURE_GROUPS}")
        return groups

    @field_validator("model")
    @classmethod
    def _lightgbm_model(cls, params: dict) -> dict:
        return lightgbm_parameters(params)

    @field_validator("search")
    @classmethod
    def _lightgbm_search(cls, candidates: list[dict]) -> list[dict]:
        return [lightgbm_parameters(c, f"candidate {i + 1}: ") for i, c in enumerate(candidates)]

    @field_validator("calibration_folds")
    @classmethod
    def _at_least_two_folds(cls, folds: int) -> int:
        if folds == 1:
            raise ValueError("calibration_folds must be 0 (a later window) or at least 2: one fold leaves no "
                             "household out")
        return folds

    @field_validator("as_of_start", "as_of_end")
    @classmethod
    def _a_month(cls, day: dt.date | None) -> dt.date | None:
        if day is not None and day.day != 1:
            after = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            raise ValueError(f"as-of dates are the first of a month (the features are monthly), not {day}: write "
                             f"{day.replace(day=1)} or {after}")
        return day

    @model_validator(mode="after")
    def _a_range_forwards(self) -> Experiment:
        if self.as_of_start and self.as_of_end and self.as_of_start > self.as_of_end:
            raise ValueError(f"as_of_start {self.as_of_start} is after as_of_end {self.as_of_end}")
        return self

    @model_validator(mode="after")
    def _no_shorter_gap_than_the_label(self) -> Experiment:
        own = LABEL_WINDOW_MONTHS[self.target]
        if self.label_window_months is not None and self.label_window_months < own:
            raise ValueError(f"label_window_months {self.label_window_months} is shorter than the {self.target} "
                             f"label's own {own} months: training labels would overlap the test months")
        return self

    @property
    def window(self) -> int:
        return self.label_window_months or LABEL_WINDOW_MONTHS[self.target]

    @property
    def features(self) -> list[str]:
        return [f.name for f in FEATURES if f.group in self.feature_groups]

    @property
    def registered_name(self) -> str:
        return REGISTERED_NAMES[self.target]

    @property
    def label(self) -> str:
        return f"label_{self.target}"


def load_experiment(path: Path) -> Experiment:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"experiment file {path} does not exist")
    try:
        return Experiment.model_validate(yaml.safe_load(path.read_text()) or {})
    except ValidationError as exc:  # each problem on a line: the field, then the reason
        problems = [f"{'.'.join(map(str, e['loc'])) or 'the file'}: {e['msg'].removeprefix('Value error, ')}"
                    for e in exc.errors()]
        raise ValueError(f"{path}: " + "; ".join(problems)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(f"{path} is not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None


def default_experiment(target: str) -> Experiment:
    """The shipped definition for a target (experiments/<target>.yaml), else the built-in defaults."""
    from upstream.config import project_root

    shipped = project_root() / "experiments" / f"{target.replace('_', '-')}.yaml"
    if shipped.exists():
        return load_experiment(shipped)
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose from {', '.join(TARGETS)}")
    return Experiment(name=target, target=target)
