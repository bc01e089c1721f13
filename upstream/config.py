"""Where Upstream keeps its state: everything lives under one folder, $UPSTREAM_HOME.

Independent instances (a developer's, CI's, a demo) run side by side by pointing UPSTREAM_HOME at
different folders. The default is `.upstream/` in the project, which git ignores.
"""
from __future__ import annotations

import os
import re
import secrets
from pathlib import Path


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` holding the MLproject file (else `start` itself)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "MLproject").exists():
            return folder
    return here


def home() -> Path:
    path = Path(os.environ.get("UPSTREAM_HOME") or project_root() / ".upstream")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)  # risk lists, hashes and features: the owner's only
    return path


def secret_key() -> bytes:
    """The pseudonymisation secret. A council sets UPSTREAM_SECRET (from its key vault); without it a
    demo secret is created once under $UPSTREAM_HOME, readable only by its owner."""
    if os.environ.get("UPSTREAM_SECRET"):
        return os.environ["UPSTREAM_SECRET"].encode()
    path = home() / "secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


# What MLflow uses when nobody chose a store (mlflow.store.tracking.DEFAULT_TRACKING_URI, resolved against
# the working directory). `mlflow run` passes it to its commands as MLFLOW_TRACKING_URI: not a choice.
MLFLOW_UNSET_STORE = "sqlite:///mlflow.db"


def _unset_store(uri: str) -> bool:
    return uri in (MLFLOW_UNSET_STORE, f"sqlite:///{Path.cwd().resolve() / 'mlflow.db'}")


def tracking_uri() -> str:
    """MLflow's tracking and registry store: $MLFLOW_TRACKING_URI (e.g. postgresql://... in production),
    else an embedded SQLite file under $UPSTREAM_HOME."""
    chosen = os.environ.get("MLFLOW_TRACKING_URI")
    if chosen and not _unset_store(chosen):
        return chosen
    return f"sqlite:///{home() / 'mlflow.db'}"


def shown_uri(uri: str) -> str:
    """URI with any password masked, for output that lands in logs."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", uri)


def artifact_root() -> Path:
    """Where MLflow keeps models and reports: a fixed folder, so every process finds the same files
    whatever its current directory."""
    path = Path(os.environ.get("UPSTREAM_ARTIFACTS") or home() / "mlartifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """The application database (audit store, approvals, risk lists): $UPSTREAM_DATABASE_URL (e.g.
    postgresql+psycopg://... in production), else embedded SQLite under $UPSTREAM_HOME."""
    return os.environ.get("UPSTREAM_DATABASE_URL") or f"sqlite:///{home() / 'app.db'}"
