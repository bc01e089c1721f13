"""The model itself: calibration turns a booster trained on sampled negatives into honest probabilities;
it saves and loads exactly; its contributions add up to its score."""
import numpy as np
import pandas as pd
import pytest

from models import learner, metrics


def world(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"arrears": rng.gamma(1.0, 2.0, n), "stage": rng.integers(0, 5, n).astype(float),
                          "ward": rng.choice(["Abbey", "Becontree", "Chadwell Heath"], n)})
    frame.loc[rng.random(n) < 0.1, "arrears"] = np.nan  # no rent account
    logit = -5 + 0.35 * frame["arrears"].fillna(0) + 0.4 * frame["stage"] + (frame["ward"] == "Abbey") * 0.5
    frame["label"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


@pytest.fixture(scope="module")
def fitted():
    train = learner.sample_negatives(world(60_000, 1), "label", 0.2, seed=1)
    calibration, test = world(60_000, 2), world(60_000, 3)
    model = learner.fit("homelessness", ["arrears", "stage", "ward"], train, calibration, "label",
                        {"num_boost_round": 150, "num_leaves": 7}, "isotonic", seed=1)
    return model, test


def test_sampled_negatives_keep_every_positive():
    frame = world(20_000, 4)
    sampled = learner.sample_negatives(frame, "label", 0.1, seed=0)
    assert sampled["label"].sum() == frame["label"].sum()
    assert len(sampled) < 0.2 * len(frame)


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_calibrated_probabilities_match_observed_rates_on_a_later_window(fitted, method):
    model, test = fitted
    calibration = world(60_000, 2)
    model.calibrator = learner.Calibrator.fit(method, model.raw(model.matrix(calibration)),
                                              calibration["label"].to_numpy())
    raw = model.raw(model.matrix(test))
    p, y = model.calibrator(raw), test["label"].to_numpy()
    assert abs(p.mean() - y.mean()) < 0.004  # the sampling's inflation is undone
    assert metrics.calibration_error(y, p) < 0.01
    uncalibrated = 1 / (1 + np.exp(-raw))
    assert metrics.calibration_error(y, uncalibrated) > 3 * metrics.calibration_error(y, p)


def test_a_saved_model_loads_to_identical_scores(fitted, tmp_path):
    model, test = fitted
    loaded = learner.RiskModel.load(model.save(tmp_path / "m"))
    x = loaded.matrix(test)
    np.testing.assert_array_equal(loaded.probability(x), model.probability(model.matrix(test)))
    assert loaded.features == model.features and loaded.wards == model.wards


def test_an_unknown_ward_scores_as_missing_not_as_an_error(fitted):
    model, test = fitted
    row = test.head(1).assign(ward="A ward created after training")
    assert np.isnan(model.matrix(row)[0, 2])
    assert 0 <= model.probability(model.matrix(row))[0] <= 1


def test_contributions_add_up_to_the_raw_score(fitted):
    model, test = fitted
    x = model.matrix(test.head(500))
    np.testing.assert_allclose(model.contributions(x).sum(axis=1), model.raw(x), rtol=1e-6, atol=1e-9)


def test_cross_fitting_never_scores_a_household_with_a_model_that_trained_on_it():
    rows = pd.concat([world(2_000, m).assign(household_key=np.arange(2_000).astype(str),
                                             as_of=pd.Timestamp("2024-01-01") + pd.DateOffset(months=m))
                      for m in range(6)], ignore_index=True)
    seen = []

    def fit_fold(train, held):
        seen.append((set(train["household_key"]), set(held["household_key"]), set(held["as_of"])))
        return None

    scores, labels = learner.cross_fit(rows, list(rows["as_of"].unique()[-3:]), "label", 4, 0.5, 0, fit_fold,
                                       lambda _, frame: np.zeros(len(frame)))
    assert len(seen) == 4 and len(scores) == len(labels) == 3 * 2_000  # every calibration row scored once
    for trained_on, scored, months in seen:
        assert trained_on.isdisjoint(scored) and scored and len(months) == 3
    assert set().union(*(s for _, s, _ in seen)) == set(rows["household_key"])


def test_cross_fitted_probabilities_match_observed_rates_on_a_later_window():
    months = [world(10_000, 10 + m).assign(household_key=np.arange(10_000).astype(str),
                                           as_of=pd.Timestamp("2024-01-01") + pd.DateOffset(months=m))
              for m in range(6)]
    rows, test = pd.concat(months, ignore_index=True), world(60_000, 3)
    model = learner.fit_cross_fitted("homelessness", ["arrears", "stage", "ward"], rows,
                                     list(rows["as_of"].unique()[-4:]), "label",
                                     {"num_boost_round": 150, "num_leaves": 7}, "isotonic", 1, folds=5,
                                     negative_share=0.2)
    p, y = model.probability(model.matrix(test)), test["label"].to_numpy()
    assert abs(p.mean() - y.mean()) < 0.004  # the sampling's inflation is undone
    assert metrics.calibration_error(y, p) < 2 * metrics.calibration_floor(p)
    assert model.booster.current_iteration() <= 150 and model.info["calibration_average_precision"] > 0
