"""The running service follows the registry but only through the ethics gate: a champion nobody approved, or
whose report changed after approval, is refused (and logged, with why) while the approved version serves on."""
from __future__ import annotations

import time

import httpx
import mlflow
from mlflow import MlflowClient

from ethics.approval import decide
from models import tracking
from tests.serving.conftest import stand_in_report

NAME = "homelessness-risk"


def models(served) -> dict:
    return httpx.get(f"{served.url}/models", headers=served.headers(), timeout=10).json()


def wait_for(served, check, timeout=20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        seen = models(served)
        if check(seen) or time.monotonic() > deadline:
            return seen
        time.sleep(0.3)


def version_of(seen: dict) -> str:
    return next(m["version"] for m in seen["models"] if m["target"] == "homelessness")


def test_an_unapproved_or_tampered_champion_is_refused_and_the_approved_version_serves_on(in_served_home):
    served = in_served_home
    client = MlflowClient()
    approved = version_of(models(served))
    source = client.get_model_version(NAME, approved)
    with mlflow.start_run(experiment_id=tracking.experiment_id("gate-tests")) as run:
        mlflow.set_tag("purpose", "a version nobody approved")
    unapproved = str(client.create_model_version(NAME, source.source, run.info.run_id).version)
    try:
        client.set_registered_model_alias(NAME, "champion", unapproved)  # by hand, past the board
        seen = wait_for(served, lambda m: any("has not been approved" in p for p in m["problems"]))
        assert any(f"{NAME} version {unapproved} has not been approved by the ethics board" in p
                   for p in seen["problems"]), seen
        assert version_of(seen) == approved and seen["status"] == "degraded"
        assert httpx.get(f"{served.url}/readyz").json()["status"] == "degraded"
        assert f"Not served: {NAME} version {unapproved} has not been approved" in served.server.output()

        # the board approves it properly: it is served; then its report is changed: refused, the last approved serves
        stand_in_report("homelessness")
        decide(NAME, unapproved, "approve", "Test board", "Second version read and approved", demo=True)
        seen = wait_for(served, lambda m: version_of(m) == unapproved and not m["problems"])
        assert version_of(seen) == unapproved and seen["status"] == "ready"
        MlflowClient().log_text(client.get_model_version(NAME, unapproved).run_id, '{"edited": true}',
                                "report/fairness.json")
        seen = wait_for(served, lambda m: version_of(m) == approved)
        assert version_of(seen) == approved
        assert any("its report has changed since it was approved" in p for p in seen["problems"]), seen
    finally:
        client.set_registered_model_alias(NAME, "champion", approved)
        seen = wait_for(served, lambda m: not m["problems"] and version_of(m) == approved)
    assert seen["status"] == "ready" and version_of(seen) == approved
