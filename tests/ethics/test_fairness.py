"""Fairness at capacity: the report's rules, and its numbers recomputed from its own twin without fairlearn."""
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ethics.card import _fairness_table
from ethics.fairness import fairness, selected_at_capacity


def held_out(n_per_group: dict, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for group, n in n_per_group.items():
        parts.append(pd.DataFrame({"group": group, "label": (rng.random(n) < 0.1).astype(int),
                                   "rank_score": rng.random(n)}))
    frame = pd.concat(parts, ignore_index=True)
    frame["household_key"] = [f"k{i}" for i in range(len(frame))]
    frame["score"] = frame["rank_score"]
    frame["as_of"] = pd.Timestamp("2025-01-01")
    frame["capacity_rows"] = 50
    return frame


def test_a_group_is_suppressed_by_its_households_not_its_household_months():
    frame = held_out({"A": 400, "B": 36})
    b = frame["group"] == "B"
    frame.loc[b, "household_key"] = [f"b{i % 4}" for i in range(b.sum())]  # 4 households over 9 months
    frame.loc[b, "as_of"] = [pd.Timestamp("2025-01-01") + pd.DateOffset(months=i // 4) for i in range(b.sum())]
    by = {g["group"]: g for g in fairness(frame, ["group"], capacity=50)["groups"]}
    assert by["B"]["suppressed"] and by["B"]["n"] is None


def test_a_households_many_months_in_need_count_as_one_household_in_the_recall_interval():
    """Twelve months of need of the same 12 households are not 144 independent cases: the recall interval,
    and so whether a disparity is clear, rests on the households."""
    def never_reached(households_b: int) -> dict:
        frame = held_out({"A": 6000, "B": 600}, seed=8)
        b = (frame["group"] == "B").to_numpy()
        frame.loc[b, "label"] = np.r_[np.ones(144, int), np.zeros(456, int)]
        frame.loc[b, "household_key"] = [f"b{i % households_b}" for i in range(600)]
        frame.loc[b, "rank_score"] = 0.0  # B is never selected; A's recall is about a third
        frame["capacity_rows"] = 2000
        return {g["group"]: g for g in fairness(frame, ["group"], capacity=2000)["groups"]}

    many, few = never_reached(600), never_reached(12)
    assert many["B"]["households_in_need"] == 144 and few["B"]["households_in_need"] == 12
    assert many["B"]["tpr"] == few["B"]["tpr"] == 0  # the same point estimate
    assert few["B"]["tpr_wilson"][1] > 3 * many["B"]["tpr_wilson"][1]  # far less certain
    assert many["B"]["clear_disparity"] and not few["B"]["clear_disparity"]


def test_small_groups_are_suppressed_and_the_reference_is_the_largest_recorded_group():
    frame = held_out({"A": 400, "B": 300, "Not recorded": 900, "C": 7})
    report = fairness(frame, ["group"], capacity=50)
    by = {g["group"]: g for g in report["groups"]}
    assert by["C"] == {"attribute": "group", "group": "C", "n": None, "households": None, "suppressed": True}
    assert report["reference_groups"] == {"group": "A"} and by["A"]["reference"]
    assert by["B"]["tpr_ratio"] == pytest.approx(by["B"]["tpr"] / by["A"]["tpr"])


def test_a_group_nobody_in_which_needed_help_is_not_assessable_rather_than_zero():
    frame = held_out({"A": 400, "B": 100})
    frame.loc[frame["group"] == "B", "label"] = 0
    b = next(g for g in fairness(frame, ["group"], capacity=50)["groups"] if g["group"] == "B")
    assert b["tpr"] is None and b["verdict"] == "not assessable"


def test_the_verdict_follows_the_0_8_to_1_25_rule_on_recall():
    frame = held_out({"A": 1000, "B": 1000})
    frame.loc[frame["group"] == "B", "rank_score"] *= 0.5  # B's members are ranked lower: reached less often
    by = {g["group"]: g for g in fairness(frame, ["group"], capacity=50)["groups"]}
    assert by["B"]["tpr_ratio"] < 0.8 and by["B"]["verdict"] == "disparity"
    assert by["A"]["verdict"] == "within 0.8-1.25"
    lo, hi = by["A"]["tpr_ci"]
    assert lo <= by["A"]["tpr"] <= hi


def test_the_report_recomputes_from_its_twin_without_fairlearn(in_reported_home):
    numbers = json.loads((in_reported_home.out / "fairness.json").read_text())
    twin = pd.read_parquet(in_reported_home.out / "predictions.parquet")
    assert numbers["capacity"] == 30
    # selection: each month's top k households by score (ties aside), k scaled to the month's labelled share
    picked = twin[twin["selected"]].groupby("as_of").size()
    assert (picked > 0).all() and picked.max() <= 30
    assert {"sex", "age_band", "ethnicity", "disability", "lone_parent", "tenure", "ward",
            "ethnicity_sex"} <= set(twin.columns)
    checked = 0
    for g in numbers["groups"]:
        rows = twin[twin[g["attribute"]] == g["group"]]
        if g["suppressed"]:
            assert rows["household_key"].nunique() < 10  # fewer than 10 households, however many months
            continue
        assert g["households"] == rows["household_key"].nunique()
        y, s = rows["label"] == 1, rows["selected"]
        assert g["n"] == len(rows)
        assert g["selection_rate"] == pytest.approx(s.mean())
        assert g["base_rate"] == pytest.approx(y.mean())
        if y.any():
            assert g["tpr"] == pytest.approx((y & s).sum() / y.sum())
        assert g["fpr"] == pytest.approx((~y & s).sum() / (~y).sum())
        if s.any():
            assert g["precision"] == pytest.approx((y & s).sum() / s.sum())
        if 0 < y.sum() < len(y):  # AUC on scores, by sklearn rather than fairlearn, inside its interval
            auc = roc_auc_score(y, rows["score"])
            assert g["auc"] == pytest.approx(auc)
            assert g["auc_ci"][0] - 1e-9 <= auc <= g["auc_ci"][1] + 1e-9
        gap = rows["score"].mean() - y.mean()
        assert g["calibration_gap"] == pytest.approx(gap)
        assert g["calibration_gap_ci"][0] <= gap <= g["calibration_gap_ci"][1]
        checked += 1
    assert checked >= 20
    ethnicity = {g["group"] for g in numbers["groups"] if g["attribute"] == "ethnicity"}
    assert {"White", "Black", "Asian", "Not recorded"} <= ethnicity


def test_a_small_group_with_nobody_reached_is_a_disparity_but_not_a_clear_one():
    frame = held_out({"A": 3000, "B": 60}, seed=3)
    b = frame["group"] == "B"
    frame.loc[b, "rank_score"] = 0.0  # B is never selected: recall 0 of a handful
    by = {g["group"]: g for g in fairness(frame, ["group"], capacity=50)["groups"]}
    assert by["B"]["tpr"] == 0 and by["B"]["verdict"] == "disparity"
    assert by["B"]["tpr_ci"] == [0.0, 0.0]  # the bootstrap cannot see past a count of zero
    low, high = by["B"]["tpr_wilson"]
    assert low == 0 and high > 0.2  # the Wilson interval can
    assert not by["B"]["clear_disparity"]
    table = _fairness_table(SimpleNamespace(fairness={"groups": list(by.values())}))
    shown = {row[1]: row[table["columns"].index("Recall (95% interval)")] for row in table["rows"]}
    assert shown["B"] == f"0.000 (0.000-{high:.3f})"  # the card shows the interval the verdict was judged on

    big = held_out({"A": 3000, "B": 3000}, seed=4)
    big.loc[big["group"] == "B", "rank_score"] *= 0.5
    big["capacity_rows"] = 600
    by = {g["group"]: g for g in fairness(big, ["group"], capacity=600)["groups"]}
    assert by["B"]["clear_disparity"] and by["B"]["tpr_wilson"][1] < 0.8 * by["A"]["tpr_wilson"][0]


def test_the_findings_say_worse_when_worse_and_distrust_a_ceiling_below_the_model():
    from ethics.card import findings

    facts = SimpleNamespace(
        target="homelessness", fairness={"capacity": 250, "groups": []},
        metrics={"precision_at_k": 0.072, "rule.precision_at_k": 0.012, "logistic.precision_at_k": 0.080,
                 "auc_skill": 0.60, "precision_ratio": 0.49, "calibration_error": 0.003},
        ceiling={"auc_skill": 0.46, "precision_ratio": 0.26},
        mitigation=[{"attribute": "tenure", "equal_recall_at_capacity": {"precision_change": -0.023}}])
    said = " ".join(findings(facts))
    assert "worse than a logistic regression on the same features (8.0%, ratio 0.90)" in said
    assert "too noisy to rely on" in said
    assert "-2.3 percentage points (tenure)" in said
    assert "Calibration error 0.003 on the latest test months (well calibrated by the 0.01 goal)." in said
    facts.metrics["calibration_floor"] = 0.002
    facts.fairness["overall"] = {"base_rate": 0.009}
    assert ("a perfectly calibrated model would show about 0.002 on the same households, from chance alone; for "
            "scale, 0.9% of these household-months went on to need help)") in " ".join(findings(facts))
    facts.metrics["logistic.precision_at_k"] = 0.060
    facts.ceiling = {"auc_skill": 0.76, "precision_ratio": 0.60}
    said = " ".join(findings(facts))
    assert "better than a logistic regression" in said and "real alternative" not in said
    assert "too noisy" not in said
