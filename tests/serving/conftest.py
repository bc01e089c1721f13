"""One real server per session: small trained, reported and approved models in a temporary UPSTREAM_HOME,
served over HTTP by `upstream serve` on a free loopback port."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from upstream.cli import app

UPSTREAM = str(Path(sys.executable).with_name("upstream"))
QUICK = {"homelessness": "capacity: 30\nnegative_sample: 0.5\n", "fuel_poverty": "capacity: 30\nnegative_sample: 0.3\n"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def home_env(home: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI",
                                                            "UPSTREAM_DATABASE_URL", "MLFLOW_RUN_ID")}
    return {**env, "UPSTREAM_HOME": str(home), "BENTOML_DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true",
            "BENTOML_HOME": str(home / "bentoml"), **extra}


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(env: dict, matrix: Path, log: Path, timeout: float = 120) -> Server:
    port = free_port()
    with log.open("w") as sink:
        process = subprocess.Popen([UPSTREAM, "serve", "--port", str(port), "--features", str(matrix)], env=env,
                                   stdout=sink, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{server.output()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"the server did not become ready in {timeout:.0f} s:\n{server.output()[-3000:]}")


@dataclass
class Served:
    home: Path
    matrix: Path
    borough: Path
    server: Server
    service_token: str
    monitor_token: str

    @property
    def url(self) -> str:
        return self.server.url

    def headers(self, token: str | None = None) -> dict:
        return {"Authorization": f"Bearer {token or self.service_token}"}


@contextlib.contextmanager
def registry_of(home: Path):
    """This process pointed at HOME's registry and database, and nowhere afterwards: MLflow writes the store
    into MLFLOW_TRACKING_URI, which would otherwise carry it into the next module's fixtures."""
    stores = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UPSTREAM_HOME", str(home))
        for name in (*stores, "UPSTREAM_DATABASE_URL"):
            patch.delenv(name, raising=False)
        try:
            yield
        finally:
            for name in stores:
                os.environ.pop(name, None)


def approved_home(home: Path, borough: Path, matrix: Path, tmp: Path):
    """Train, report and approve a quick model for each target in HOME (in this process, as the CLI does)."""
    runner = CliRunner()
    common = ["--data", str(borough), "--features", str(matrix)]
    with registry_of(home):
        for target, extra in QUICK.items():
            experiment = tmp / f"{target}.yaml"
            experiment.write_text(f"name: quick-{target}\ntarget: {target}\n{extra}"
                                  "splits: {count: 1, test_months: 2, calibration_months: 2}\n"
                                  "model: {num_boost_round: 40, early_stopping_rounds: 20}\n")
            result = runner.invoke(app, ["train", *common, "--experiment", str(experiment)])
            assert result.exit_code == 0, result.output
            stand_in_report(target)
            result = runner.invoke(app, ["approve", "--model", target, "--version", "latest", "--decision", "approve",
                                         "--demo", "--by", "Test board", "--note", "Approved for the serving tests"])
            assert result.exit_code == 0, result.output
        from serving import tokens

        return tokens.create("tests", "service"), tokens.create("tests monitor", "monitor")


def stand_in_report(target: str, text: str = '{"stand_in": true}') -> str:
    """A report file on the latest version's run: the gate fingerprints whatever the board read, and serving
    is tested here, not the fairness report (tests/ethics covers that). Returns the run id."""
    from mlflow import MlflowClient

    from models import tracking
    from models.experiment import REGISTERED_NAMES

    tracking.configure()
    name = REGISTERED_NAMES[target]
    run_id = MlflowClient().get_model_version(name, tracking.resolve_version(name, "latest")).run_id
    MlflowClient().log_text(run_id, text, "report/fairness.json")
    return run_id


@pytest.fixture(scope="session")
def served(model_borough, model_matrix, tmp_path_factory):
    home = tmp_path_factory.mktemp("serving-home")
    service_token, monitor_token = approved_home(home, model_borough, model_matrix, tmp_path_factory.mktemp("exp"))
    # /metrics on, as a monitoring network would have it (off by default: serving/service.py)
    server = start_server(home_env(home, UPSTREAM_REFRESH_SECONDS="1", UPSTREAM_METRICS="1",
                                   UPSTREAM_API_AUDIT_SECONDS="1"), model_matrix, home / "server.log")
    try:
        yield Served(home, model_matrix, model_borough, server, service_token, monitor_token)
    finally:
        server.stop()


@pytest.fixture
def in_served_home(served):
    """This process pointed at the served home (its registry and application database)."""
    from models import tracking

    with registry_of(served.home):
        tracking.configure()
        yield served


def copy_cache(source_home: Path, home: Path):
    shutil.copytree(source_home / "serving" / "approved", home / "serving" / "approved")
