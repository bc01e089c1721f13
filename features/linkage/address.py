"""Address matching against the gazetteer with uk-address-matcher (a pre-trained Splink model), offline.

The model and token frequencies ship inside the uk-address-matcher wheel. Never call its `ukam_datasets`
helpers or `splink.datasets`: they download. DuckDB may not auto-install extensions here either.
"""
from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

# A Splink candidate is accepted when its match weight is at least MIN_WEIGHT and it beats the
# runner-up by at least MIN_GAP (or had no runner-up). Exact-address matches are always accepted.
MIN_WEIGHT = -5.0
MIN_GAP = 1.0

_POSTCODE_SQL = r"""nullif(regexp_replace(upper(regexp_replace(coalesce({col}, ''), '\s', '', 'g')),
                    '^(.+)(\d[A-Z]{{2}})$', '\1 \2'), '')"""
# The packaged blocking rules need a postcode or an unusual word; these add candidates for records with a
# common street name and no postcode ("25B Daisy Road"). Scores are unchanged. l = gazetteer, r = record.
_EXTRA_BLOCKING = [
    "l.road_1_norm = r.road_1_norm AND l.numeric_token_1 = r.numeric_token_1",
    "r.postcode IS NULL AND l.numeric_token_1 = r.numeric_token_1 AND (levenshtein(l.road_1_norm, r.road_1_norm) <= 2"
    " OR contains(replace(r.clean_full_address, ' ', ''), replace(l.road_1_norm, ' ', '')))",
]


def _connect() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(config={"threads": 2, "autoinstall_known_extensions": False,
                                  "autoload_known_extensions": False})


def _settings():
    from splink import SettingsCreator

    model = json.loads(files("uk_address_matcher.data").joinpath("splink_model.json").read_text())
    model["blocking_rules_to_generate_predictions"] += [
        {"blocking_rule": rule, "sql_dialect": "duckdb"} for rule in _EXTRA_BLOCKING]
    return SettingsCreator.from_path_or_dict(model)


def match_probability(weight: pd.Series) -> pd.Series:
    """Splink's match weight (log2 Bayes factor) as a probability."""
    return 1 / (1 + np.power(2.0, -weight.astype(float)))


def match_addresses(gazetteer: pd.DataFrame, records: pd.DataFrame, work: Path) -> pd.DataFrame:
    """Best gazetteer candidate per record: record_key, candidate_uprn, reason, weight, gap, accepted, score.

    `gazetteer` has uprn, address (single line ending ", TOWN, POSTCODE") and postcode; `records` has
    record_key, address, postcode.
    """
    from uk_address_matcher import AddressMatcher, ExactMatchStage, SplinkStage, prepare_canonical_folder

    con = _connect()
    con.register("gazetteer_in", gazetteer[["uprn", "address", "postcode"]])
    con.register("records_in", records[["record_key", "address", "postcode"]])
    canonical = con.sql(f"""
        SELECT uprn::VARCHAR AS unique_id,
               regexp_replace(address, ',\\s*[^,]*,\\s*[^,]*$', '') AS address_concat,
               {_POSTCODE_SQL.format(col='postcode')} AS postcode
        FROM gazetteer_in""")
    folder = Path(work) / "canonical"
    prepare_canonical_folder(canonical, str(folder), con=con, overwrite=True, show_progress="off")
    con.execute(f"""CREATE OR REPLACE TABLE to_match AS
        SELECT record_key AS unique_id, address AS address_concat, {_POSTCODE_SQL.format(col='postcode')} AS postcode
        FROM records_in""")
    matcher = AddressMatcher(
        canonical_addresses=str(folder), addresses_to_match=con.table("to_match"), con=con, show_progress="off",
        stages=[ExactMatchStage(), SplinkStage(final_match_weight_threshold=-100.0,
                                               final_distinguishability_threshold=None, settings=_settings())])
    with matcher.match() as result:
        found = result.matches(all_columns=True).df()[
            ["unique_id", "resolved_canonical_id", "match_reason", "match_weight", "distinguishability"]]
    found = found.drop_duplicates("unique_id").rename(columns={"unique_id": "record_key"})
    out = records[["record_key"]].merge(found, on="record_key", how="left")
    reason = out["match_reason"].fillna("")
    exact = reason.str.startswith("exact") & out["resolved_canonical_id"].notna()
    splink = (reason.str.startswith("splink") & (out["match_weight"] >= MIN_WEIGHT)
              & (out["distinguishability"].isna() | (out["distinguishability"] >= MIN_GAP)))
    return pd.DataFrame({
        "record_key": out["record_key"],
        "candidate_uprn": pd.to_numeric(out["resolved_canonical_id"], errors="coerce").astype("Int64"),
        "reason": reason.replace("", "no candidate"),
        "accepted": exact | splink,
        "score": np.where(exact, 1.0, match_probability(out["match_weight"].fillna(-100.0))),
    })
