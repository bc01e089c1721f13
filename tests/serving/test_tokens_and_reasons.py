"""API tokens are shown once and stored hashed; the serving path's reasons and inputs are the ethics and
models layers' own."""
from __future__ import annotations

import getpass
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
    assert tokens.holder_of(token)[1] == "service" and tokens.holder_of(token[:-1] + "x") is None
    refused = CliRunner().invoke(app, ["tokens", "create", "--name", "x", "--role", "admin"])
    assert refused.exit_code == 1 and "unknown role 'admin'" in refused.output
    twin = CliRunner().invoke(app, ["tokens", "create", "--name", "Housing CRM", "--role", "monitor"])
    assert twin.exit_code == 1 and "a live API token is already called 'Housing CRM'" in twin.output
    assert CliRunner().invoke(app, ["tokens", "revoke", "--name", "Housing CRM"]).exit_code == 0
    again = CliRunner().invoke(app, ["tokens", "create", "--name", "Housing CRM", "--role", "service"])
    assert again.exit_code == 0  # the name is free once its token is revoked
    listed = CliRunner().invoke(app, ["tokens", "list"])
    assert listed.exit_code == 0 and [line.strip("│ ").split()[-1] for line in listed.stdout.splitlines()
                                      if "Housing CRM" in line] == ["live", "revoked"]
    assert "upst_" not in listed.stdout and stored["sha256"] not in listed.stdout
    from serving.dashboard import audit

    assert audit.search(what="revoked API token")[0]["who"] == f"upstream tokens ({getpass.getuser()})"
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


@pytest.mark.parametrize("missing", ["nan", "zero_as_missing", "no_missing"])
def test_borough_treeshap_equals_lightgbms_own_for_numbers_categories_and_missing_values(missing):
    import lightgbm as lgb

    from serving import treeshap

    rng = np.random.default_rng(3)
    n = 6000
    x = np.column_stack([rng.normal(size=n).round(1), rng.integers(-1, 8, n).astype(float), rng.exponential(size=n),
                         rng.integers(0, 3, n).astype(float)])
    x[rng.random(n) < 0.15, 0] = np.nan
    x[rng.random(n) < 0.1, 1] = np.nan
    x[rng.random(n) < 0.2, 2] = 0.0
    y = ((x[:, 1] % 3 == 0) ^ (np.nan_to_num(x[:, 0]) > 0.3) ^ (x[:, 2] < 0.5)).astype(int)
    params = {"objective": "binary", "num_leaves": 15, "min_data_in_leaf": 20, "verbose": -1, "num_threads": 1,
              "use_missing": missing != "no_missing", "zero_as_missing": missing == "zero_as_missing"}
    booster = lgb.train(params, lgb.Dataset(x, y, categorical_feature=[1, 3]), num_boost_round=25)
    assert {n["decision_type"] for nodes in treeshap._splits(booster) for n in nodes} == {"<=", "=="}
    expected = booster.predict(x, pred_contrib=True)
    assert np.allclose(treeshap.contributions(booster, x), expected, rtol=0, atol=1e-12)


def test_borough_treeshap_equals_lightgbms_own_on_the_served_models(in_served_home):
    from models import tracking
    from models.experiment import REGISTERED_NAMES
    from serving import treeshap

    for name in REGISTERED_NAMES.values():
        model = tracking.load_model(name, tracking.resolve_version(name, "champion"))
        rows = pd.read_parquet(in_served_home.matrix, filters=[("as_of", "==", pd.Timestamp("2025-06-01"))])
        x = model.matrix(rows)
        assert np.allclose(treeshap.contributions(model.booster, x), model.booster.predict(x, pred_contrib=True),
                           rtol=0, atol=1e-12)
