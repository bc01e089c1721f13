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
