"""The scoring API over real HTTP: scores, ranks, bands and reasons; explanations; tokens; bad input."""
from __future__ import annotations

import time

import httpx
import numpy as np
import pandas as pd
import pytest

from features.build import key_map_path
from serving import ranking
from tests.serving.conftest import registry_of

AS_OF = "2025-06-01"


@pytest.fixture(scope="module")
def borough_at(served):
    """The borough at AS_OF as the feature build holds it: UPRN and every feature, one row per household."""
    rows = pd.read_parquet(served.matrix, filters=[("as_of", "==", pd.Timestamp(AS_OF))])
    keys = pd.read_parquet(key_map_path(served.matrix)).drop_duplicates("household_key").set_index("household_key")
    return rows.assign(uprn=keys.loc[rows["household_key"], "uprn"].to_numpy())


@pytest.fixture(scope="module")
def champion(served):
    """The served homelessness model, loaded in this process from the registry."""
    from models import tracking

    with registry_of(served.home):
        tracking.configure()
        version = tracking.resolve_version("homelessness-risk", "champion")
        return version, tracking.load_model("homelessness-risk", version)


def post(served, path, body, token=None):
    return httpx.post(f"{served.url}{path}", json=body, headers=served.headers(token), timeout=30)


def test_score_by_uprn_gives_probability_rank_band_and_reasons(served, borough_at, champion):
    version, model = champion
    raw = model.raw(model.matrix(borough_at))
    expected_rank = ranking.ranks(raw, borough_at["uprn"].to_numpy())
    picks = [int(np.argmin(expected_rank)), int(np.argmax(expected_rank)), len(borough_at) // 2]
    body = {"target": "homelessness",
            "households": [{"uprn": str(borough_at["uprn"].iat[i]), "as_of": AS_OF} for i in picks]}
    response = post(served, "/score", body)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [set(r) for r in results] == [{"uprn", "as_of", "target", "score", "band", "rank", "reasons",
                                          "model_version"}] * 3
    for i, result in zip(picks, results):
        assert result["uprn"] == str(borough_at["uprn"].iat[i]) and result["as_of"] == AS_OF
        assert result["model_version"] == version and result["target"] == "homelessness"
        assert result["score"] == pytest.approx(float(model.calibrator(raw[i:i + 1])[0]), abs=1e-12)
        assert result["rank"] == expected_rank[i]
        assert result["band"] == ranking.bands(np.array([expected_rank[i]]), 30)[0]
        assert 1 <= len(result["reasons"]) <= 3
        assert all(r.endswith(("(raises the risk)", "(lowers the risk)")) for r in result["reasons"])
    assert results[0]["rank"] == 1 and results[0]["band"] == "very_high" and results[1]["band"] == "low"
    assert results[0]["score"] >= results[2]["score"] >= results[1]["score"]


def test_a_household_sent_with_its_values_scores_as_the_same_household_looked_up(served, borough_at, champion):
    _, model = champion
    row = borough_at.iloc[7]
    values = {name: (None if pd.isna(row[name]) else row[name] if name == "ward" else float(row[name]))
              for name in model.features}
    body = {"target": "homelessness", "households": [
        {"uprn": str(row["uprn"]), "as_of": AS_OF},
        {"household_key": "hh-test-1", "as_of": AS_OF, "features": values}]}
    response = post(served, "/score", body)
    assert response.status_code == 200, response.text
    by_uprn, by_values = response.json()["results"]
    assert by_values["household_key"] == "hh-test-1" and "uprn" not in by_values
    assert by_values["score"] == by_uprn["score"] and by_values["reasons"] == by_uprn["reasons"]
    assert by_values["rank"] <= by_uprn["rank"]  # placed among the borough: ties count in its favour


def test_explain_gives_every_features_contribution_adding_up_to_the_score(served, borough_at, champion):
    _, model = champion
    uprn = str(borough_at["uprn"].iat[3])
    response = post(served, "/explain", {"target": "homelessness", "household": {"uprn": uprn, "as_of": AS_OF}})
    assert response.status_code == 200, response.text
    explained = response.json()
    contributions = explained["contributions"]
    assert sorted(c["feature"] for c in contributions) == sorted(model.features)
    total = explained["expected_value"] + sum(c["contribution"] for c in contributions)
    assert total == pytest.approx(explained["raw_score"], abs=1e-6)
    assert explained["score"] == pytest.approx(float(model.calibrator(np.array([explained["raw_score"]]))[0]))
    sizes = [abs(c["contribution"]) for c in contributions]
    assert sizes == sorted(sizes, reverse=True)
    assert [f"{c['text']} ({c['direction']} the risk)" for c in contributions[:3] if c["contribution"]] \
        == explained["reasons"]


def test_tokens_no_token_or_a_wrong_one_is_401_and_monitor_may_only_read(served):
    body = {"target": "homelessness", "households": [{"uprn": "1", "as_of": AS_OF}]}
    assert httpx.post(f"{served.url}/score", json=body).status_code == 401
    assert post(served, "/score", body, token="upst_not-a-real-token").status_code == 401
    refused = post(served, "/score", body, token=served.monitor_token)
    assert refused.status_code == 403 and "service token" in refused.json()["detail"]
    assert post(served, "/explain", {"target": "homelessness", "household": {"uprn": "1", "as_of": AS_OF}},
                token=served.monitor_token).status_code == 403
    assert httpx.get(f"{served.url}/models").status_code == 401
    models = httpx.get(f"{served.url}/models", headers=served.headers(served.monitor_token))
    assert models.status_code == 200


@pytest.mark.parametrize("body, where, says", [
    ({"households": [{"uprn": "1", "as_of": AS_OF}]}, ["body", "target"], "Field required"),
    ({"target": "homelessness", "households": "all"}, ["body", "households"], "valid list"),
    ({"target": "burglary", "households": [{"uprn": "1", "as_of": AS_OF}]}, ["body", "target"], "homelessness"),
    ({"target": "homelessness", "households": [{"uprn": "1", "as_of": "2025-06-15"}]},
     ["body", "households", 0, "uprn", "as_of"], "first day of a month"),
    ({"target": "homelessness", "households": [{"uprn": "12 Ash Grove", "as_of": AS_OF}]},
     ["body", "households", 0, "uprn", "uprn"], "pattern"),
    ({"target": "homelessness", "households": [{"uprn": "1", "as_of": AS_OF}] * 1001}, ["body", "households"],
     "at most 1000"),
    ({"target": "homelessness", "households": []}, ["body", "households"], "at least 1"),
])
def test_bad_input_is_a_422_naming_the_field_and_the_reason(served, body, where, says):
    response = post(served, "/score", body)
    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    assert any(p["loc"] == where and says in p["msg"] for p in problems), problems


def test_an_unknown_household_is_named_by_its_place_in_the_batch(served, borough_at):
    body = {"target": "homelessness", "households": [{"uprn": str(borough_at["uprn"].iat[0]), "as_of": AS_OF},
                                                      {"uprn": "999999999999", "as_of": AS_OF},
                                                      {"uprn": str(borough_at["uprn"].iat[0]), "as_of": "2031-01-01"}]}
    response = post(served, "/score", body)
    assert response.status_code == 422
    problems = response.json()["detail"]
    assert [p["loc"] for p in problems] == [["body", "households", 1, "uprn"], ["body", "households", 2, "uprn"]]
    assert all("no household is resident at this UPRN" in p["msg"] for p in problems)


def test_values_must_match_the_models_features(served, champion):
    _, model = champion
    features = {name: None for name in model.features[1:]} | {"shoe_size": 9.0, model.features[-1]: "lots"}
    body = {"target": "homelessness", "households": [{"household_key": "k1", "as_of": AS_OF, "features": features}]}
    response = post(served, "/score", body)
    assert response.status_code == 422
    found = {tuple(p["loc"][-1:]): p["type"] for p in response.json()["detail"]}
    assert found[(model.features[0],)] == "missing" and found[("shoe_size",)] == "unknown_feature"
    assert found[(model.features[-1],)] == "type_error"


def test_values_name_a_ward_the_model_knows_and_say_which_month_ranked_them(served, borough_at, champion):
    _, model = champion
    row = borough_at.iloc[11]
    values = {name: (None if pd.isna(row[name]) else row[name] if name == "ward" else float(row[name]))
              for name in model.features}
    typo = post(served, "/score", {"target": "homelessness", "households": [
        {"household_key": "k1", "as_of": AS_OF, "features": {**values, "ward": "Abbey Wrad"}}]})
    assert typo.status_code == 422
    assert [(p["loc"][-1], p["type"]) for p in typo.json()["detail"]] == [("ward", "unknown_ward")]
    later = post(served, "/score", {"target": "homelessness", "households": [
        {"household_key": "k1", "as_of": AS_OF, "features": values},
        {"household_key": "k2", "as_of": "2031-01-01", "features": {**values, "ward": None}}]})
    assert later.status_code == 200, later.text
    own, placed = later.json()["results"]
    last = httpx.get(f"{served.url}/models", headers=served.headers()).json()["feature_build"]["as_of_last"]
    assert "ranked_among" not in own and placed["ranked_among"] == last


def test_a_key_given_twice_is_refused_not_read_as_the_last_one(served, borough_at):
    uprn = str(borough_at["uprn"].iat[0])
    body = ('{"target": "fuel_poverty", "households": [{"uprn": "%s", "as_of": "%s"}], "target": "homelessness"}'
            % (uprn, AS_OF))
    response = httpx.post(f"{served.url}/score", content=body, timeout=30,
                          headers={**served.headers(), "Content-Type": "application/json"})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["type"] == "json_invalid" and "'target' given more than once" in problem["msg"]
    assert uprn not in response.text
    broken = httpx.post(f"{served.url}/score", content='{"target": ', timeout=30,
                        headers={**served.headers(), "Content-Type": "application/json"})
    assert broken.status_code == 422 and "Expecting value" in broken.json()["detail"][0]["msg"]
    garbled = httpx.post(f"{served.url}/score", content=b'{"target": "\xff"}', timeout=30,
                         headers={**served.headers(), "Content-Type": "application/json"})
    assert garbled.status_code == 422 and "not UTF-8" in garbled.json()["detail"][0]["msg"]


def test_models_readiness_metrics_and_health(served, champion):
    version, _ = champion
    models = httpx.get(f"{served.url}/models", headers=served.headers()).json()
    assert models["status"] == "ready" and models["problems"] == []
    by_target = {m["target"]: m for m in models["models"]}
    assert set(by_target) == {"homelessness", "fuel_poverty"}
    served_model = by_target["homelessness"]
    assert served_model["version"] == version and served_model["source"] == "registry"
    assert served_model["approval"]["decision"] == "approve" and served_model["approval"]["demo"] is True
    assert len(served_model["approval"]["report_sha256"]) == 64
    assert served_model["report"]["artifact_uri"].startswith("runs:/") and served_model["capacity"] == 30
    ready = httpx.get(f"{served.url}/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert httpx.get(f"{served.url}/healthz").status_code == 200
    metrics = httpx.get(f"{served.url}/metrics")
    assert metrics.status_code == 200 and "bentoml_" in metrics.text


def test_values_the_dictionary_cannot_word_are_still_explained(served, borough_at, champion):
    _, model = champion
    row = borough_at.iloc[11]
    values = {name: (None if pd.isna(row[name]) else row[name] if name == "ward" else float(row[name]))
              for name in model.features}
    values |= {name: value for name, value in {"ct_highest_stage_12m": 9.0, "epc_band": -3.0}.items()
               if name in values}
    body = {"target": "homelessness", "household": {"household_key": "what-if", "as_of": AS_OF, "features": values}}
    response = post(served, "/explain", body)
    assert response.status_code == 200, response.text
    texts = {c["feature"]: c["text"] for c in response.json()["contributions"]}
    if "ct_highest_stage_12m" in texts:
        assert texts["ct_highest_stage_12m"].endswith(": 9")


def test_what_a_token_scored_or_explained_is_audited_by_pseudonym_never_uprn(served, borough_at):
    from serving.dashboard import audit

    row = borough_at.iloc[3]
    household = {"uprn": str(int(row["uprn"])), "as_of": AS_OF}
    assert post(served, "/score", {"target": "homelessness", "households": [household] * 2}).status_code == 200
    assert post(served, "/explain", {"target": "homelessness", "household": household}).status_code == 200
    with registry_of(served.home):
        for _ in range(50):  # counted per token and target, written every second here (a minute by default)
            scored = audit.search(what="scored via API")
            if scored:
                break
            time.sleep(0.1)
        scored, explained = scored[0], audit.search(what="explained via API")[0]
    assert scored["who"].startswith("token ") and "households by UPRN" in scored["detail"]
    assert explained["household"] == row["household_key"]
    assert str(int(row["uprn"])) not in str([scored, explained])


def test_a_body_with_nan_is_a_422_that_never_echoes_the_input(served, borough_at):
    uprn = str(int(borough_at.iloc[0]["uprn"]))
    body = ('{"target": "homelessness", "households": [{"uprn": "%s", "as_of": "%s", "features": NaN}]}'
            % (uprn, AS_OF))
    response = httpx.post(f"{served.url}/score", content=body, timeout=30,
                          headers={**served.headers(), "Content-Type": "application/json"})
    assert response.status_code == 422 and uprn not in response.text
    assert uprn not in (served.home / "server.log").read_text()


def test_a_revoked_token_is_refused_at_once_and_the_revocation_audited(served):
    from typer.testing import CliRunner

    from serving.dashboard import audit
    from upstream.cli import app

    with registry_of(served.home):
        created = CliRunner().invoke(app, ["tokens", "create", "--name", "a leaver's script", "--role", "monitor"])
        token = created.output.strip().splitlines()[-1]
        assert httpx.get(f"{served.url}/models", headers=served.headers(token)).status_code == 200
        revoked = CliRunner().invoke(app, ["tokens", "revoke", "--name", "a leaver's script"])
        assert revoked.exit_code == 0, revoked.output
        assert httpx.get(f"{served.url}/models", headers=served.headers(token)).status_code == 401
        by_command_line = [r["what"] for r in audit.search() if r["who"].startswith("upstream tokens (")]
        assert by_command_line[:2] == ["revoked API token", "created API token"]
        again = CliRunner().invoke(app, ["tokens", "revoke", "--name", "a leaver's script"])
        assert again.exit_code == 1 and "no live API token" in again.output


def test_bentomls_own_page_is_not_served_and_huge_bodies_are_refused_unread(served):
    index = httpx.get(f"{served.url}/", follow_redirects=False)
    assert index.status_code == 303 and index.headers["location"] == "/ui/"
    assert httpx.get(f"{served.url}/static_content/index.css").status_code == 404
    big = httpx.post(f"{served.url}/score", content=b"{" + b" " * (3 << 20) + b"}", timeout=30,
                     headers={**served.headers(), "Content-Type": "application/json"})
    assert big.status_code == 413 and "larger than" in big.json()["detail"]
    models = httpx.get(f"{served.url}/models", headers=served.headers())
    assert models.headers["cache-control"] == "no-store" and models.headers["x-content-type-options"] == "nosniff"


def test_metrics_are_off_unless_asked_for():
    """/metrics answers anyone and labels series with every path asked for: off unless UPSTREAM_METRICS=1
    (this process never sets it; the served fixture's server does)."""
    import os

    import serving.service

    assert "UPSTREAM_METRICS" not in os.environ
    assert serving.service.Upstream.config["metrics"]["enabled"] is False
    assert "/metrics" not in serving.service.api_document(metrics=False)["paths"]
