"""Explanations: SHAP agrees with LightGBM's own contributions and adds up to the score; reasons are the
features that moved a household's score most, in the dictionary's plain English, with their direction."""
import numpy as np
import pandas as pd
import pytest
import shap

from ethics.explain import contributions, describe, reasons, sentences
from features.dictionary import BY_NAME
from models import learner

FEATURES = ["rent_arrears_weeks", "ct_highest_stage_12m", "epc_band", "rent_universal_credit_direct", "ward"]


def households(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "rent_arrears_weeks": rng.gamma(1.0, 2.5, n), "ct_highest_stage_12m": rng.integers(0, 6, n).astype(float),
        "epc_band": rng.integers(1, 8, n).astype(float), "rent_universal_credit_direct": rng.integers(0, 2, n),
        "ward": rng.choice(["Abbey", "Becontree", "Eastbrook"], n)})
    frame.loc[rng.random(n) < 0.2, "rent_arrears_weeks"] = np.nan  # no rent account
    logit = -5 + 0.4 * frame["rent_arrears_weeks"].fillna(0) + 0.3 * frame["ct_highest_stage_12m"]
    frame["label"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


@pytest.fixture(scope="module")
def model():
    return learner.fit("homelessness", FEATURES, households(30_000, 1), households(20_000, 2), "label",
                       {"num_boost_round": 120, "num_leaves": 15}, "isotonic", seed=1)


def test_shap_tree_explainer_equals_lightgbms_contributions_and_adds_up_to_the_score(model):
    rows = households(300, 3)
    ours = contributions(model, rows)
    theirs = shap.TreeExplainer(model.booster).shap_values(model.matrix(rows))
    np.testing.assert_allclose(ours[FEATURES].to_numpy(), np.asarray(theirs), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(ours.sum(axis=1), model.raw(model.matrix(rows)), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name, value, text", [
    ("rent_arrears_weeks", 9.24, "Rent arrears of 9.2 weeks"),
    ("rent_change_13w", 420.0, "Rent arrears rose by £420 over 13 weeks"),
    ("epc_band", 5.0, "Home rated EPC band E"),
    ("ct_highest_stage_12m", 3.0, "Council tax recovery in the last 12 months: a summons"),
    ("rent_universal_credit_direct", 1.0, "Universal Credit paid direct to the landlord"),
    ("rent_universal_credit_direct", 0.0, "No Universal Credit paid direct to the landlord"),
    ("property_flat", 0.0, "Lives in a house"),
    ("ct_summonses_6m", 0.0, "Summonses: none (6 months)"),
    ("ct_months_since_action", 0.3, "Last council tax recovery action less than a month ago"),
    ("ct_months_since_action", 1.2, "Last council tax recovery action 1 month ago"),
    ("months_since_approach", 7.6, "Owed a homelessness duty at this address 8 months ago"),
    ("rent_arrears_weeks", None, "Arrears as weeks of rent: not known"),
    ("ward", "Abbey", "Lives in Abbey ward"),
    # values a client could send that no stage or band has: said as they are, never as a wrong stage or band
    ("ct_highest_stage_12m", 9.0, "Highest recovery stage (0 none, 1 reminder ... 5 enforcement agent): 9"),
    ("ct_highest_stage_12m", -1.0, "Highest recovery stage (0 none, 1 reminder ... 5 enforcement agent): -1"),
    ("epc_band", -3.0, "EPC band (A=1 ... G=7): -3"),
    ("epc_band", 2.5, "EPC band (A=1 ... G=7): 2.5"),
])
def test_values_are_said_in_plain_english(name, value, text):
    assert describe(BY_NAME[name], value) == text


def test_reasons_are_the_largest_contributions_with_their_direction(model):
    rows = households(200, 4)
    explained = reasons(model, rows, top=3)
    effects = contributions(model, rows)[FEATURES]
    for i, said in enumerate(explained):
        assert 1 <= len(said) <= 3
        magnitudes = [abs(r["contribution"]) for r in said]
        assert magnitudes == sorted(magnitudes, reverse=True)
        assert magnitudes[0] == pytest.approx(effects.iloc[i].abs().max(), abs=1e-4)
        for r in said:
            assert r["direction"] == ("raises" if effects.iloc[i][r["feature"]] > 0 else "lowers")


def test_heavy_arrears_is_the_first_reason_and_raises_the_risk(model):
    row = households(1, 5).assign(rent_arrears_weeks=14.0, ct_highest_stage_12m=0.0)
    first = sentences(reasons(model, row))[0][0]
    assert first == "Rent arrears of 14.0 weeks (raises the risk)"


def test_plot_labels_keep_whole_words_on_two_lines_and_no_equals_sign():
    from ethics.importance import label
    from features.dictionary import FEATURES

    for feature in FEATURES:
        lines = label(feature.name).split("\n")
        assert len(lines) <= 2 and all(len(line) <= 44 for line in lines), feature.name
        assert "=" not in label(feature.name)  # SHAP greys what comes before one
    assert label("ct_account_months") == "Months the household has been liable at this\naddress"
