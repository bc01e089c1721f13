"""An experiment: what to predict, from which features, validated how. Analysts copy and edit the YAML.

Every field has a default, so a file need only say what differs; unknown fields are refused, so a typo
never silently falls back to a default.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from features.dictionary import FEATURES, LABEL_WINDOW_MONTHS

TARGETS = ("homelessness", "fuel_poverty")
REGISTERED_NAMES = {"homelessness": "homelessness-risk", "fuel_poverty": "fuel-poverty-risk"}
FEATURE_GROUPS = sorted({f.group for f in FEATURES})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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

    @field_validator("calibration_folds")
    @classmethod
    def _at_least_two_folds(cls, folds: int) -> int:
        if folds == 1:
            raise ValueError("calibration_folds must be 0 (a later window) or at least 2: one fold leaves no "
                             "household out")
        return folds

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
    except Exception as exc:  # pydantic's message names the field and the reason
        raise ValueError(f"{path}: {exc}") from None


def default_experiment(target: str) -> Experiment:
    """The shipped definition for a target (experiments/<target>.yaml), else the built-in defaults."""
    from upstream.config import project_root

    shipped = project_root() / "experiments" / f"{target.replace('_', '-')}.yaml"
    if shipped.exists():
        return load_experiment(shipped)
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose from {', '.join(TARGETS)}")
    return Experiment(name=target, target=target)
