"""Group-aware thresholds: what they change (recall by group) and what they cost (precision at capacity)."""
import numpy as np
import pandas as pd
import pytest

from ethics.fairness import selected_at_capacity
from ethics.mitigation import POOLED, mitigation


def unfair_borough(seed: int = 0) -> pd.DataFrame:
    """Two groups with the same need; the model scores group B's households who need help lower, so a
    single threshold reaches fewer of them."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2025-01-01", periods=3, freq="MS")
    parts = []
    for group, n, shift in (("A", 6000, 1.5), ("B", 3000, 0.6), ("C", 40, 1.0)):
        label = (rng.random(n) < 0.05).astype(int)
        score = rng.normal(size=n) + shift * label + (0.3 if group == "C" else 0)
        parts.append(pd.DataFrame({"group": group, "label": label, "rank_score": score,
                                   "as_of": rng.choice(months, size=n)}))
    frame = pd.concat(parts, ignore_index=True)
    frame["score"] = 1 / (1 + np.exp(-frame["rank_score"]))
    frame["household_key"] = [f"k{i}" for i in range(len(frame))]
    frame["capacity_rows"] = 120
    return frame.assign(selected=selected_at_capacity(frame))


def test_equal_recall_at_the_same_capacity_closes_the_gap_and_states_its_cost():
    frame = unfair_borough()
    result = mitigation(frame, "group")
    model, equal = result["model"], result["equal_recall_at_capacity"]
    assert model["recall"]["A"] > 1.3 * model["recall"]["B"]  # the disparity the report is about

    assert equal["selected"] <= model["selected"]  # never more than caseworkers can reach
    assert equal["selected"] >= 0.95 * model["selected"]
    assert equal["recall"]["A"] == pytest.approx(equal["recall"]["B"], abs=0.03)
    assert equal["recall_ratio_min_max"] > model["recall_ratio_min_max"]
    # the cost, measured on the same rows: fewer of those flagged needed help
    y, chosen_precision = frame["label"].to_numpy(), model["precision"]
    assert chosen_precision == pytest.approx(y[frame["selected"]].mean())
    assert equal["precision_change"] == pytest.approx(equal["precision"] - model["precision"])
    assert equal["precision_change"] < 0 and equal["reached_change"] < 0


def test_groups_with_few_who_needed_help_are_pooled_rather_than_given_a_threshold_each():
    result = mitigation(unfair_borough(), "group")
    assert set(result["model"]["recall"]) == {"A", "B", POOLED}  # C has a couple of positives only


def test_fairlearns_threshold_optimizer_equalises_recall_and_says_how_many_it_would_select():
    result = mitigation(unfair_borough(), "group")["threshold_optimizer"]
    recall = result["recall"]
    assert abs(recall["A"] - recall["B"]) < 0.1
    assert result["times_capacity"] == pytest.approx(result["selected"] / 360)
    assert result["constraint"] == "true_positive_rate_parity"


def test_a_group_in_which_nobody_needed_help_is_left_out_of_the_optimizer_and_named():
    frame = unfair_borough()
    frame.loc[frame["group"] == "C", "label"] = 0  # the pooled smaller groups: nobody in need
    result = mitigation(frame, "group")["threshold_optimizer"]
    assert result["left_out"] == [POOLED]
    assert result["recall"][POOLED] is None
    assert abs(result["recall"]["A"] - result["recall"]["B"]) < 0.1
