"""API tokens are shown once and stored hashed; the serving path's reasons and inputs are the ethics and
models layers' own."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ethics.explain import reasons, sentences
from features.build import key_map_path
from serving import database, explanations, tokens
from serving.feature_build import FeatureBuild, month_number
from upstream.cli import app


def test_tokens_create_prints_the_token_last_and_stores_only_its_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("UPSTREAM_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    result = CliRunner().invoke(app, ["tokens", "create", "--name", "Housing CRM", "--role", "service"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("upst_") and len(token) > 40
    with database.engine().connect() as db:
        stored = db.execute(sa.select(tokens.api_tokens)).mappings().one()
    assert stored["sha256"] == hashlib.sha256(token.encode()).hexdigest() and stored["role"] == "service"
    assert token.encode() not in (tmp_path / "app.db").read_bytes()
    assert tokens.role_of(token) == "service" and tokens.role_of(token[:-1] + "x") is None
    refused = CliRunner().invoke(app, ["tokens", "create", "--name", "x", "--role", "admin"])
    assert refused.exit_code == 1 and "unknown role 'admin'" in refused.output
    database._engines.clear()


@pytest.mark.parametrize("target", ["homelessness", "fuel_poverty"])
def test_served_inputs_and_reasons_are_the_models_and_ethics_own(in_served_home, target):
    from models import tracking
    from models.experiment import REGISTERED_NAMES

    name = REGISTERED_NAMES[target]
    model = tracking.load_model(name, tracking.resolve_version(name, "champion"))
    as_of = pd.Timestamp("2025-06-01")
    rows = pd.read_parquet(in_served_home.matrix, filters=[("as_of", "==", as_of)]).head(300)
    build = FeatureBuild(in_served_home.matrix, model.features, [month_number(as_of)])
    keys = pd.read_parquet(key_map_path(in_served_home.matrix)).drop_duplicates("household_key")
    uprns = keys.set_index("household_key").loc[rows["household_key"], "uprn"].to_numpy()
    x = build.matrix(model, build.find(uprns, np.full(len(uprns), month_number(as_of))))
    assert np.array_equal(x, model.matrix(rows), equal_nan=True)  # the lean path feeds the booster the same
    ours = explanations.sentences(model, x, explanations.contributions(model, x))
    assert ours == sentences(reasons(model, rows))
