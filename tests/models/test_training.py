"""Training end to end against a real MLflow store: splits, baselines and oracle reported, the model
registered as `challenger` (never `champion`), artifacts in the project's folder, nothing personal logged."""
import os
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from features.build import key_map_path
from features.sources import extracts_fingerprint
from models import pipeline, tracking
from models.experiment import load_experiment
from synth import oracle


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("mlflow-home")


@pytest.fixture(scope="module")
def first_run(home, model_borough, model_matrix, tmp_path_factory):
    """One training run into a fresh store, from a working directory that is not the project's."""
    experiment = tmp_path_factory.mktemp("exp") / "quick.yaml"
    experiment.write_text("name: quick-homelessness\ntarget: homelessness\ncapacity: 30\nnegative_sample: 0.5\n"
                          "splits: {count: 2, test_months: 2, calibration_months: 2}\n"
                          "model: {num_boost_round: 80, early_stopping_rounds: 20}\n"
                          "search: [{num_leaves: 7}, {num_leaves: 15}]\n")
    elsewhere = tmp_path_factory.mktemp("cwd")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UPSTREAM_HOME", str(home))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.chdir(elsewhere)
        keys = pd.read_parquet(key_map_path(model_matrix))
        summary = pipeline.run(model_matrix, load_experiment(experiment), extracts_fingerprint(model_borough),
                               oracle(model_borough, "homelessness", keys))
    return summary, experiment, elsewhere


@pytest.fixture
def store(home, monkeypatch):
    monkeypatch.setenv("UPSTREAM_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracking.configure()
    return MlflowClient()


def test_every_split_reports_the_model_the_rule_the_logistic_regression_and_the_oracle(first_run):
    result = first_run[0].result
    assert len(result.splits) == 2
    table = result.metrics.set_index(["split", "scorer"])
    for split in result.splits:
        for scorer in ("model", "rule", "logistic", "oracle"):
            row = table.loc[(split.name, scorer)]
            assert 0 <= row["precision_at_k"] <= 1 and 0 < row["auc"] < 1
        model, oracle_row = table.loc[(split.name, "model")], table.loc[(split.name, "oracle")]
        assert model["auc_skill"] == pytest.approx((model["auc"] - 0.5) / (oracle_row["auc"] - 0.5))
        assert model["auc"] > 0.6  # a model that learnt nothing scores 0.5
    assert result.metrics.query("scorer == 'rule'")["brier"].isna().all()  # a flag is not a probability


def test_test_months_never_fall_inside_a_training_label_window(first_run):
    result = first_run[0].result
    for split in [*result.splits, result.production]:
        last_label_month = max(split.train) + pd.DateOffset(months=6)
        assert last_label_month <= min(split.calibration)
        if split.test:
            assert max(split.calibration) + pd.DateOffset(months=6) <= min(split.test)
    scored = result.predictions
    for split in result.splits:
        assert set(scored.loc[scored["split"] == split.name, "as_of"]) == set(split.test)


def test_training_registers_a_challenger_and_never_a_champion(first_run, store):
    summary = first_run[0]
    assert str(store.get_model_version_by_alias("homelessness-risk", "challenger").version) == summary.version
    with pytest.raises(mlflow.exceptions.MlflowException):
        store.get_model_version_by_alias("homelessness-risk", "champion")
    with pytest.raises(ValueError, match="no approved champion"):
        tracking.resolve_version("homelessness-risk", None)
    assert tracking.resolve_version("homelessness-risk", "latest") == summary.version


def test_the_run_logs_parameters_metrics_plots_dictionary_and_a_model_with_a_signature(first_run, store):
    summary = first_run[0]
    run = store.get_run(summary.run_id)
    assert run.data.params["data_fingerprint"] == run.data.tags["upstream.data_fingerprint"]
    assert len(run.data.params["data_fingerprint"]) == 64
    for key in ("auc", "precision_at_k", "calibration_error", "rule.precision_at_k", "logistic.auc", "oracle.auc",
                "auc_skill", "precision_ratio", "precision_vs_rule"):
        assert key in run.data.metrics, key
    artifacts = {a.path for a in store.list_artifacts(summary.run_id, "plots")}
    assert artifacts == {f"plots/{n}.png" for n in ("roc", "precision_recall", "calibration", "precision_at_k",
                                                    "skill_over_time")}
    assert {a.path for a in store.list_artifacts(summary.run_id)} >= {"features.json", "experiment.yaml", "splits.json"}
    info = mlflow.models.get_model_info(f"models:/homelessness-risk/{summary.version}")
    assert [c.name for c in info.signature.inputs] == summary.result.model.features
    assert info.saved_input_example_info is not None


def test_artifacts_live_in_the_projects_folder_not_the_working_directory(first_run, store, home):
    summary, _, elsewhere = first_run
    uri = store.get_run(summary.run_id).info.artifact_uri
    assert uri.startswith((home / "mlartifacts").as_uri())
    assert not any(elsewhere.iterdir())  # nothing (mlruns/, mlflow.db) was written where the command ran


def test_no_household_key_or_uprn_reaches_the_artifacts(first_run, store, model_matrix, tmp_path):
    summary = first_run[0]
    folder = mlflow.artifacts.download_artifacts(run_id=summary.run_id, dst_path=str(tmp_path / "a"))
    text = " ".join(p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*") if p.is_file())
    keys = pd.read_parquet(key_map_path(model_matrix))
    assert os.listdir(folder)
    assert not [k for k in keys["household_key"].head(2000) if k in text]
    assert not [u for u in keys["uprn"].astype(str).head(2000) if f'"{u}"' in text or f",{u}," in text]


def test_the_registered_model_predicts_calibrated_probabilities_through_pyfunc(first_run, store, model_matrix):
    summary = first_run[0]
    model = tracking.load_model("homelessness-risk", summary.version)
    rows = pd.read_parquet(model_matrix).head(50)
    loaded = mlflow.pyfunc.load_model(f"models:/homelessness-risk@challenger")
    probabilities = loaded.predict(tracking.model_input(model, rows))
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    pd.testing.assert_series_equal(pd.Series(probabilities), pd.Series(model.probability(model.matrix(rows))))


def test_a_second_run_is_a_new_version_and_moves_the_challenger(first_run, store, model_borough, model_matrix):
    summary, experiment, _ = first_run
    second = pipeline.run(model_matrix, load_experiment(experiment), extracts_fingerprint(model_borough))
    assert int(second.version) == int(summary.version) + 1
    assert str(store.get_model_version_by_alias("homelessness-risk", "challenger").version) == second.version
    assert "oracle" not in set(second.result.metrics["scorer"])  # a council's own data has no oracle


def test_the_shipped_fuel_poverty_experiment_trains_cross_fitted_and_logs_its_calibration_floor(
        home, model_borough, model_matrix, store):
    shipped = load_experiment(Path(__file__).parents[2] / "experiments" / "fuel-poverty.yaml")
    assert shipped.calibration_folds >= 2  # the analysts' definition asks for cross-fitting
    quick = shipped.model_copy(update={"capacity": 30, "model": {"num_boost_round": 60, "early_stopping_rounds": 20},
                                       "search": [{"num_leaves": 7}]})
    keys = pd.read_parquet(key_map_path(model_matrix))
    summary = pipeline.run(model_matrix, quick, extracts_fingerprint(model_borough),
                           oracle(model_borough, "fuel_poverty", keys))
    result = summary.result
    labelled = sorted(result.predictions["as_of"].unique())
    for split in result.splits:  # training runs up to the months whose labels closed before the test
        assert max(split.train) + pd.DateOffset(months=quick.window) <= min(split.test)
        assert set(split.calibration) <= set(split.train)
    assert max(result.production.train) >= max(labelled)
    run = store.get_run(summary.run_id)
    assert run.data.params["calibration_folds"] == str(shipped.calibration_folds)
    floor = run.data.metrics["calibration_floor"]
    assert 0 < floor < 0.1 and "calibration_error" in run.data.metrics
