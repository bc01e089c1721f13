"""The experiment file analysts edit: every mistake refused at once, in one line naming the field and why,
before any data is read or any MLflow run is started."""
from pathlib import Path

import pytest

from models.experiment import load_experiment

SHIPPED = Path(__file__).parents[2] / "experiments"


@pytest.mark.parametrize("body, said", [
    ("model: {learnng_rate: 0.05}", "model: learnng_rate is not a LightGBM parameter"),
    ("model: {num_boost_round: many}", "model: num_boost_round must be a whole number of at least 1, not 'many'"),
    ("search: [{num_leaves: 7}, {num_leaves: -3}]", "search: candidate 2: LightGBM refuses {'num_leaves': -3}"),
    ("search: [{num_leaves: seven}]", "Parameter num_leaves should be of type int"),
    ("capacity: -1\nsplits: {count: 0}", "capacity: Input should be greater than or equal to 1; splits.count:"),
    ("feature_groups: [rent, rnet]", "unknown feature groups ['rnet']"),
    ("capcity: 100", "capcity: Extra inputs are not permitted"),
    ("model: {learning_rate: [", "is not valid YAML"),
    ("as_of_start: 2025-03-15", "as_of_start: as-of dates are the first of a month (the features are monthly), "
                                "not 2025-03-15: write 2025-03-01 or 2025-04-01"),
    ("as_of_start: 2025-06-01\nas_of_end: 2025-03-01", "as_of_start 2025-06-01 is after as_of_end 2025-03-01"),
])
def test_a_mistake_in_an_experiment_is_refused_in_one_line_naming_it(tmp_path, body, said):
    path = tmp_path / "mine.yaml"
    path.write_text(f"name: mine\ntarget: homelessness\n{body}\n")
    with pytest.raises(ValueError) as refused:
        load_experiment(path)
    assert said in str(refused.value) and "\n" not in str(refused.value)


def test_lightgbm_aliases_and_the_shipped_experiments_are_accepted(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\ntarget: homelessness\nmodel: {eta: 0.1, min_child_samples: 50, lambda_l2: 1.0}\n"
                    "search: [{num_leaves: 7, linear_tree: true}]\n")
    assert load_experiment(path).model["eta"] == 0.1
    for shipped in SHIPPED.glob("*.yaml"):
        assert load_experiment(shipped).search
