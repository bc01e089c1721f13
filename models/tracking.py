"""MLflow: where runs are tracked and models registered.

Tracking and registry share one store: $MLFLOW_TRACKING_URI (PostgreSQL in production), else SQLite under
$UPSTREAM_HOME. Experiments keep their artifacts in a fixed folder, so the trainer, `mlflow ui` and the
serving process all find the same files whatever their working directory. When `mlflow run` launches a
command it passes the run it created (MLFLOW_RUN_ID): the command logs into that run when it lives in the
project's store, and otherwise into a run of its own there (tagged with the launcher's run id), because a
model registered anywhere else would be invisible to scoring, the ethics board and serving.

Training registers a version with the alias `challenger`. Only the ethics approval gate moves `champion`.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from importlib import metadata
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import yaml
from mlflow import MlflowClient
from mlflow.models import infer_signature

from models.learner import RiskModel

ARTIFACT = "risk_model"  # the RiskModel's folder inside a logged model (models/pyfunc.py reads it)
PYFUNC = Path(__file__).with_name("pyfunc.py")
# What loading the model needs besides this project's `models` package: stated, not inferred (inference
# shells out to uv and pip and takes seconds).
REQUIREMENTS = ("mlflow", "lightgbm", "numpy", "pandas", "scikit-learn")

CHALLENGER, CHAMPION = "challenger", "champion"


def configure() -> str:
    """Point MLflow at the project's store; returns its URI."""
    from upstream.config import tracking_uri

    # MLflow's own INFO lines and download bars would bury the progress and the results people read
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # A tracking server that is down: MLflow's default 7 retries with backoff made a command wait about two
    # minutes before saying so; 3 ride out a blip in about 15 s
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)  # "cannot resolve pip": uv made the venv
    uri = tracking_uri()
    if "MLFLOW_RUN_ID" in os.environ and os.environ.get("MLFLOW_TRACKING_URI") != uri:
        # `mlflow run` made its run in another store: this command's run lives in the project's instead
        os.environ["UPSTREAM_LAUNCHER_RUN_ID"] = os.environ.pop("MLFLOW_RUN_ID")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def experiment_id(name: str) -> str:
    from upstream.config import artifact_root

    client = MlflowClient()
    found = client.get_experiment_by_name(name)
    if found:
        return found.experiment_id
    return client.create_experiment(name, artifact_location=(artifact_root() / name).as_uri())


def start_run(experiment: str, run_name: str):
    if "MLFLOW_RUN_ID" in os.environ:
        return mlflow.start_run()  # the run `mlflow run` made in this store
    launcher = os.environ.get("UPSTREAM_LAUNCHER_RUN_ID")
    tags = {"upstream.launcher_run_id": launcher} if launcher else None
    return mlflow.start_run(experiment_id=experiment_id(experiment), run_name=run_name, tags=tags)


def input_example(model: RiskModel, train: pd.DataFrame) -> pd.DataFrame:
    """A made-up household: each feature's median (the most common ward), so no real household's record
    is ever copied into the registry."""
    row = {}
    for name in model.features:
        column = train[name]
        row[name] = column.mode().iloc[0] if name == "ward" else float(np.nanmedian(column.astype("float64")))
    return pd.DataFrame([row])


def model_input(model: RiskModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Features in the signature's types: floats (any may be missing), the ward as text."""
    return pd.DataFrame({n: (frame[n].astype(object).where(frame[n].notna(), None) if n == "ward"
                             else frame[n].astype("float64")) for n in model.features})


def log_model(model: RiskModel, example: pd.DataFrame, registered_name: str) -> str:
    """Log the model (explicit signature and input example) and register it as the challenger; returns
    the new version number."""
    example = model_input(model, example)
    signature = infer_signature(example, model.probability(model.matrix(example)))
    with tempfile.TemporaryDirectory() as folder:
        info = mlflow.pyfunc.log_model(
            name="model", python_model=str(PYFUNC), artifacts={ARTIFACT: str(model.save(Path(folder) / ARTIFACT))},
            signature=signature, input_example=example, registered_model_name=registered_name,
            pip_requirements=[f"{name}=={metadata.version(name)}" for name in REQUIREMENTS])
    version = str(info.registered_model_version)
    client = MlflowClient()
    client.set_registered_model_alias(registered_name, CHALLENGER, version)
    return version


def log_json(data, name: str):
    mlflow.log_text(json.dumps(data, indent=1, default=str), name)


def log_yaml(data, name: str):
    mlflow.log_text(yaml.safe_dump(data, sort_keys=False), name)


def resolve_version(registered_name: str, version: str | None) -> str:
    """A version number from 'champion' (default), 'challenger', 'latest' or a number."""
    client = MlflowClient()
    wanted = version or CHAMPION
    try:
        if wanted in (CHAMPION, CHALLENGER):
            return str(client.get_model_version_by_alias(registered_name, wanted).version)
        if wanted == "latest":
            versions = client.search_model_versions(f"name = '{registered_name}'")
            if not versions:
                raise ValueError(f"no versions of {registered_name} are registered: run `upstream train` first")
            return str(max(int(v.version) for v in versions))
        return str(client.get_model_version(registered_name, wanted).version)
    except mlflow.exceptions.MlflowException as exc:
        if unreachable(exc):
            raise
        if wanted == CHAMPION:
            raise ValueError(f"{registered_name} has no approved champion yet: the ethics board approves a version "
                             "with `upstream approve` (or pass --model-version N|latest to evaluate)") from None
        raise ValueError(f"{registered_name} has no version {wanted!r}: {exc.message}") from None


def unreachable(exc: Exception) -> bool:
    """Whether an MLflow error means its store could not be reached (not that something is missing)."""
    said = str(exc)
    return any(sign in said for sign in ("Max retries exceeded", "Failed to establish a new connection",
                                         "Connection refused", "could not connect to server", "timed out"))


def load_model(registered_name: str, version: str) -> RiskModel:
    """The RiskModel files of a registered version (downloaded from the artifact store)."""
    folder = mlflow.artifacts.download_artifacts(f"models:/{registered_name}/{version}")
    return RiskModel.load(Path(folder) / "artifacts" / ARTIFACT)
