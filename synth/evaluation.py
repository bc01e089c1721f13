"""Measuring Upstream's stages against the hidden truth of a synthetic borough.

Lives here, not in features/ or models/, because only `synth` may read truth/.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def linkage_report(links: pd.DataFrame, data_dir: Path) -> pd.DataFrame:
    """Per source: records, exact, address, unmatched, and for records that carried no UPRN, precision and
    recall of the links against the truth crosswalk (precision: correct among linked; recall: correct
    among all). Also precision over every linked record."""
    cross = pd.read_parquet(Path(data_dir) / "truth" / "crosswalk.parquet", columns=["source", "record_id", "uprn"])
    m = links.merge(cross.rename(columns={"uprn": "true_uprn"}), on=["source", "record_id"], how="left")
    m["linked"] = m["uprn"].notna()
    m["correct"] = m["linked"] & (m["uprn"] == m["true_uprn"]).fillna(False)
    rows = []
    for source, g in [*m.groupby("source", sort=False), ("all", m)]:
        lacking = g[~g["had_uprn"]]
        rows.append({
            "source": source, "records": len(g),
            "exact": int((g["method"] == "exact").sum()), "address": int((g["method"] == "address").sum()),
            "unmatched": int((g["method"] == "unmatched").sum()),
            "without_uprn": len(lacking),
            "precision_without_uprn": lacking["correct"].sum() / max(lacking["linked"].sum(), 1),
            "recall_without_uprn": lacking["correct"].sum() / max(len(lacking), 1),
            "precision_all": g["correct"].sum() / max(g["linked"].sum(), 1),
        })
    return pd.DataFrame(rows)


def oracle(data_dir: Path, target: str, key_map: pd.DataFrame):
    """The best any model could do: a function from (household_key, as_of) rows to the truth's own
    probability of the outcome (NaN where the truth has no such household then). KEY_MAP (household_key,
    uprn; written beside the feature matrix) joins the pseudonymous rows to the truth's properties."""
    truth = pd.read_parquet(Path(data_dir) / "truth" / f"{target}.parquet", columns=["uprn", "as_of", "p_true"])
    truth = truth.astype({"as_of": "datetime64[us]", "uprn": "float64"})  # float: unknown keys become NaN
    uprns = key_map.drop_duplicates("household_key").set_index("household_key")["uprn"]

    def p_true(rows: pd.DataFrame):
        asked = pd.DataFrame({"uprn": uprns.reindex(rows["household_key"]).to_numpy(dtype="float64"),
                              "as_of": rows["as_of"].astype("datetime64[us]").to_numpy()})
        return asked.merge(truth, on=["uprn", "as_of"], how="left")["p_true"].to_numpy()

    return p_true


# What a council's systems could record about a household, perfectly linked and without noise: the
# panel's benefits, arrears, council tax stage and adults, and the household's and property's fixed facts.
# Left out, because no council system records them: the latent financial stress, a landlord's notice, a
# relationship breaking down, family asking someone to leave, abuse, and (for fuel poverty) income itself.
RECORDABLE_PANEL = ["universal_credit", "housing_benefit", "council_tax_reduction", "rent_arrears_weeks", "ct_stage",
                    "in_rent_system", "single_person_discount", "adults"]
RECORDABLE_FIXED = {"households": ["composition", "age", "children", "disabled", "tenure"],
                    "properties": ["epc_band", "sap", "ct_band", "property_type", "ward", "deprivation"]}


def recordable_ceiling(data_dir: Path, target: str, test_months: list, train_until, capacity: int,
                       history_months: int = 12, negative_share: float = 0.3) -> dict:
    """The irreducible part of the oracle's edge, estimated: a LightGBM fitted on perfect records of what
    councils could know (state at the end of the month before the as-of date), trained on the HISTORY_MONTHS
    of as-of dates up to TRAIN_UNTIL (every positive and NEGATIVE_SHARE of the negatives, as the real models
    are) and measured against the oracle on the TEST_MONTHS of the truth."""
    import lightgbm as lgb
    import numpy as np
    from sklearn.metrics import roc_auc_score

    truth_dir = Path(data_dir) / "truth"
    outcome = {"homelessness": "outcome", "fuel_poverty": "fuel_poor"}[target]
    since = pd.Timestamp(train_until) - pd.DateOffset(months=history_months)
    after = [("as_of", ">", since)]
    rows = pd.read_parquet(truth_dir / f"{target}.parquet", columns=["household_id", "as_of", "p_true", outcome],
                           filters=after)
    panel = pd.read_parquet(truth_dir / "panel.parquet", columns=["household_id", "as_of", *RECORDABLE_PANEL],
                            filters=[("as_of", ">", since - pd.DateOffset(months=1))])
    panel["as_of"] = panel["as_of"] + pd.DateOffset(months=1)  # known at the next month's as-of date
    rows = rows.merge(panel, on=["household_id", "as_of"], how="inner")
    households = pd.read_parquet(truth_dir / "households.parquet",
                                 columns=["household_id", "uprn", *RECORDABLE_FIXED["households"]])
    properties = pd.read_parquet(truth_dir / "properties.parquet", columns=["uprn", *RECORDABLE_FIXED["properties"]])
    rows = rows.merge(households, on="household_id").merge(properties.drop_duplicates("uprn"), on="uprn")
    features = [*RECORDABLE_PANEL, *RECORDABLE_FIXED["households"], *RECORDABLE_FIXED["properties"]]
    for name in features:
        if not pd.api.types.is_numeric_dtype(rows[name]):
            rows[name] = rows[name].astype("category")
    test_months = [pd.Timestamp(m) for m in test_months]
    train = rows[rows["as_of"] <= pd.Timestamp(train_until)]
    train = train[train[outcome].astype(bool) | (np.random.default_rng(1).random(len(train)) < negative_share)]
    test = rows[rows["as_of"].isin(test_months)].copy()
    booster = lgb.train({"objective": "binary", "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 200,
                         "num_threads": 2, "verbose": -1, "seed": 1},
                        lgb.Dataset(train[features], train[outcome]), num_boost_round=300)
    test["ceiling"] = booster.predict(test[features])

    def skill(score: str) -> tuple[float, float]:
        top = test.sort_values(["as_of", score], ascending=[True, False]).groupby("as_of").head(capacity)
        return float(roc_auc_score(test[outcome], test[score])), float(top[outcome].mean())

    (ceiling_auc, ceiling_p), (oracle_auc, oracle_p) = skill("ceiling"), skill("p_true")
    return {"ceiling_auc": ceiling_auc, "ceiling_precision_at_k": ceiling_p, "oracle_auc": oracle_auc,
            "oracle_precision_at_k": oracle_p, "auc_skill": (ceiling_auc - 0.5) / (oracle_auc - 0.5),
            "precision_ratio": ceiling_p / oracle_p if oracle_p else float("nan")}
