"""One dashboard world per session: quick models for both targets, trained, reported and approved, a second
homelessness version awaiting the board, three months of risk lists in the application database, and a
signed-up person for every role. In-process clients for the role matrix; one real BentoML server for the
browser tests."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.serving.conftest import stand_in_report
from upstream.cli import app
from upstream.config import project_root

PASSWORD = "correct horse battery"
ARTIFACTS = project_root(Path(__file__).parent) / ".upstream" / "test-artifacts" / "dashboard"  # screenshots, axe
QUICK = {"homelessness": "capacity: 30\nnegative_sample: 0.5\n", "fuel_poverty": "capacity: 30\nnegative_sample: 0.3\n"}
ROLES = ("caseworker", "team-manager", "analyst", "ethics-board", "admin")


@dataclass(frozen=True)
class World:
    home: Path
    matrix: Path
    borough: Path
    months: list  # the as-of dates with risk lists, oldest first
    wards: tuple  # the caseworker's and team manager's wards
    own: str  # a household pseudonym on the list in those wards
    own_uprn: int
    other: str  # a household pseudonym outside them
    pending: tuple  # (model name, version) awaiting the board, with a report

    def user(self, role: str) -> str:
        return f"{role}-one"


def _invoke(*args, stdin: str | None = None):
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="session")
def world(model_borough, model_matrix, tmp_path_factory) -> World:
    home, tmp = tmp_path_factory.mktemp("dashboard-home"), tmp_path_factory.mktemp("dashboard-exp")
    common = ["--data", str(model_borough), "--features", str(model_matrix)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UPSTREAM_HOME", str(home))
        patch.setenv("UPSTREAM_FEATURES", str(model_matrix))
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "UPSTREAM_DATABASE_URL"):
            patch.delenv(name, raising=False)
        for target, extra in QUICK.items():
            experiment = tmp / f"{target}.yaml"
            experiment.write_text(f"name: quick-{target}\ntarget: {target}\n{extra}"
                                  "splits: {count: 1, test_months: 2, calibration_months: 2}\n"
                                  "model: {num_boost_round: 40, early_stopping_rounds: 20}\n")
            _invoke("train", *common, "--experiment", str(experiment))
            if target == "homelessness":  # one real report for the board's pages (the others: a stand-in file)
                _invoke("report", *common, "--target", target, "--out", str(tmp / f"report-{target}"))
            else:
                stand_in_report(target)
            _invoke("approve", "--model", target, "--version", "latest", "--decision", "approve", "--by", "Test board",
                    "--note", "Approved for the dashboard tests", "--demo")
        _invoke("train", *common, "--experiment", str(tmp / "homelessness.yaml"))  # version 2, for the board
        stand_in_report("homelessness")
        months = sorted(pd.read_parquet(model_matrix, columns=["as_of"])["as_of"].unique())[-3:]
        for month in months:
            _invoke("score", *common, "--as-of", f"{pd.Timestamp(month):%Y-%m-%d}")
        own, own_uprn, other, wards = _households(model_matrix, months[-1])
        for role in ROLES:
            extra = [arg for w in wards for arg in ("--ward", w)] if role in ("caseworker", "team-manager") else []
            _invoke("users", "add", f"{role}-one", "--role", role, *extra, "--password-stdin", stdin=PASSWORD + "\n")
    _forget_tracking_store()  # the commands pointed MLflow at this world through the environment
    return World(home, model_matrix, model_borough, [pd.Timestamp(m) for m in months], wards, own, own_uprn, other,
                 ("homelessness-risk", "2"))


def _households(matrix: Path, as_of) -> tuple[str, int, str, tuple]:
    """The top household of the homelessness list, two wards including its own, and one outside them."""
    from serving import risk_lists
    from serving.dashboard import households

    register = households.register(as_of)
    listed = risk_lists.read(as_of, "homelessness").join(register, on="uprn", how="inner")
    top = listed.iloc[0]
    wards = sorted(register["ward"].dropna().unique())
    mine = (top["ward"], next(w for w in wards if w != top["ward"]))
    outside = listed[~listed["ward"].isin(mine)].iloc[0]
    return top["household"], int(top["uprn"]), outside["household"], mine


def _forget_tracking_store():
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        os.environ.pop(name, None)


@pytest.fixture(autouse=True)
def _no_tracking_store_left_behind():
    """Reading the registry points MLflow at the world's store through MLFLOW_TRACKING_URI; leave no trace, or
    a later module's fixture that runs before the per-test clean-up would read this world's registry."""
    yield
    _forget_tracking_store()


@pytest.fixture
def in_world(world, monkeypatch) -> World:
    """This process pointed at the world's home (registry, application database, feature build)."""
    monkeypatch.setenv("UPSTREAM_HOME", str(world.home))
    monkeypatch.setenv("UPSTREAM_FEATURES", str(world.matrix))
    monkeypatch.setenv("UPSTREAM_GAZETTEER", str(world.borough))  # the council's LLPG extract, for addresses
    return world


def address_of(world: World, uprn: int) -> str:
    """The household's address as the borough's gazetteer extract has it (what the household page shows)."""
    gazetteer = pd.read_csv(world.borough / "extracts" / "llpg" / "gazetteer.csv", usecols=["uprn", "address"])
    return gazetteer.set_index("uprn").loc[uprn, "address"]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


class Browser:
    """An in-process client that keeps its session cookie and knows the page's CSRF token."""

    def __init__(self, client):
        self.client, self.token = client, None

    def get(self, path: str, **kw):
        response = self.client.get(path, follow_redirects=False, **kw)
        if "csrf_token" in response.text:
            self.token = csrf_of(response.text)
        return response

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kw):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token)
        return self.client.post(path, data=data, follow_redirects=False, **kw)

    def sign_in(self, name: str, password: str = PASSWORD):
        self.get("/sign-in")
        return self.post("/sign-in", {"name": name, "password": password})


@pytest.fixture
def browser(in_world):
    """A new person at the dashboard (a fresh app on the world's home, over https so Secure cookies flow)."""
    from fastapi.testclient import TestClient

    from serving.dashboard import create_app

    with TestClient(create_app(), base_url="https://testserver") as client:
        yield Browser(client)


@pytest.fixture
def as_role(in_world):
    """as_role(role) -> a Browser signed in as that role's test user."""
    from fastapi.testclient import TestClient

    from serving.dashboard import create_app

    clients = []

    def make(role: str) -> Browser:
        client = TestClient(create_app(), base_url="https://testserver")
        clients.append(client)
        browser = Browser(client)
        response = browser.sign_in(f"{role}-one")
        assert response.status_code == 303, response.text
        browser.get(response.headers["location"].removeprefix("https://testserver"))
        return browser
    yield make
    for client in clients:
        client.close()


def pytest_terminal_summary(terminalreporter):
    if any(ARTIFACTS.glob("*.png")):
        terminalreporter.write_line(f"Dashboard screenshots and axe results: {ARTIFACTS}")


# Single sign-on: a real OpenID Connect provider process on the loopback interface (oidc_provider.py)
SSO_CLIENT = ("upstream-dashboard", "test-client-secret-not-a-real-one")
SSO_FAULTS = ("tampered", "wrong-audience", "expired", "wrong-issuer", "wrong-nonce", "unknown-key")


@dataclass(frozen=True)
class Provider:
    issuer: str
    process: object

    @property
    def env(self) -> dict:
        return {"UPSTREAM_OIDC_ISSUER": self.issuer, "UPSTREAM_OIDC_CLIENT_ID": SSO_CLIENT[0],
                "UPSTREAM_OIDC_CLIENT_SECRET": SSO_CLIENT[1], "UPSTREAM_OIDC_ROLES_CLAIM": "roles",
                "UPSTREAM_OIDC_WARDS_CLAIM": "wards"}

    def requests(self) -> list[dict]:
        import httpx

        return httpx.get(f"{self.issuer}/test/requests").json()


def sso_users(wards: tuple) -> dict:
    """The provider's people: their claims, and for the refusal tests a fault in their ID token."""
    def caseworker(username, **extra):
        return {"claims": {"preferred_username": username, "roles": ["caseworker"], "wards": [wards[0]], **extra}}
    users = {
        "casey": caseworker("casey.worker@council.test", sub="casey-subject", name="Casey Worker"),
        # the same person (same subject) after the council moved her to the other ward
        "casey-moved": {"claims": {"sub": "casey-subject", "preferred_username": "casey.worker@council.test",
                                   "roles": "caseworker", "wards": wards[1]}},
        "board": {"claims": {"preferred_username": "board.member@council.test", "roles": ["Upstream.ethics-board"]}},
        "finance": {"claims": {"preferred_username": "finance.officer@council.test", "roles": ["Finance.Approver"]}},
        "no-wards": {"claims": {"preferred_username": "new.starter@council.test", "roles": ["caseworker"]}},
        "two-roles": {"claims": {"preferred_username": "busy.person@council.test", "roles": ["caseworker", "admin"],
                                 "wards": [wards[0]]}},
        "takeover": {"claims": {"preferred_username": "admin-one", "roles": ["admin"]}},  # a local account's name
    }
    for fault in SSO_FAULTS:
        users[fault] = {**caseworker(f"{fault}@council.test"), "token": fault}
    return users


@pytest.fixture(scope="session")
def oidc_provider(world, tmp_path_factory):
    import json
    import subprocess
    import sys
    import time

    import httpx

    from tests.serving.conftest import free_port

    folder = tmp_path_factory.mktemp("oidc-provider")
    config = folder / "users.json"
    config.write_text(json.dumps({"client_id": SSO_CLIENT[0], "client_secret": SSO_CLIENT[1],
                                  "redirect_uris": ["https://testserver/oidc/callback",
                                                    "http://127.0.0.1/ui/oidc/callback"],
                                  "users": sso_users(world.wards)}))
    port = free_port()
    with (folder / "provider.log").open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "tests.dashboard.oidc_provider", "--port", str(port),
                                    "--users", str(config)], cwd=Path(__file__).parents[2], stdout=log,
                                   stderr=subprocess.STDOUT)
    provider = Provider(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the test OIDC provider did not start:\n{(folder / 'provider.log').read_text()}")
        time.sleep(0.2)
    try:
        yield provider
    finally:
        process.terminate()
        process.wait(10)
