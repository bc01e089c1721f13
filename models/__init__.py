"""Risk models (homelessness, fuel poverty): temporal validation, calibration, baselines, MLflow registry.

Reads features only; never reads truth/. The heavy parts (LightGBM, MLflow) load on first use.
"""
from models.experiment import REGISTERED_NAMES, TARGETS, Experiment, default_experiment, load_experiment
from models.splits import Split, production_split, rolling_splits

__all__ = ["REGISTERED_NAMES", "TARGETS", "Experiment", "Split", "default_experiment", "load_experiment",
           "production_split", "rolling_splits"]
