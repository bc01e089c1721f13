"""The households of a month as caseworkers see them: pseudonym, UPRN, ward and key facts, from the
feature build serving uses (the matrix and the key map beside it).

Pages and URLs name a household by its pseudonym (the feature build's household key), never its UPRN,
so access logs and the audit log carry no identifier a stranger could look up.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ethics.explain import describe
from features.build import key_map_path
from features.dictionary import BY_NAME
from serving.feature_build import latest_matrix

# The key facts a caseworker reads first: arrears, council tax recovery, benefits and their changes, home.
FACTS = ("rent_arrears_weeks", "rent_balance", "rent_missed_months_3m", "ct_arrears", "ct_balance",
         "ct_highest_stage_12m", "hb_active", "ctr_active", "uc_started_6m", "migrated_to_uc_12m", "benefit_ended_6m", "income_changes_6m",
         "household_changes_12m", "claim_dependants", "tenure_council", "tenure_housing_association",
         "tenure_private_rented", "epc_band", "previous_approaches")


def matrix_path() -> Path | None:
    """The feature build the service looks households up in ($UPSTREAM_FEATURES, else the latest)."""
    chosen = os.environ.get("UPSTREAM_FEATURES")
    return Path(chosen) if chosen else latest_matrix()


def synthetic() -> bool:
    """Whether the households shown are a synthetic borough's (the banner says so); unknown counts as real."""
    path = matrix_path()
    return path is not None and path.exists() and _synthetic(path, path.stat().st_mtime)


@functools.lru_cache(maxsize=4)
def _synthetic(path: Path, _modified: float) -> bool:
    from features.build import synthetic_matrix

    return synthetic_matrix(path)


def register(as_of) -> pd.DataFrame:
    """Every household resident at AS_OF, indexed by UPRN: household (pseudonym), ward and the key facts."""
    matrix = matrix_path()
    if matrix is None or not matrix.exists():
        return pd.DataFrame(columns=["household", "ward", *FACTS]).rename_axis("uprn")
    return _register(str(matrix), matrix.stat().st_mtime_ns, pd.Timestamp(as_of))


@functools.lru_cache(maxsize=4)
def _register(matrix: str, _mtime: int, as_of: pd.Timestamp) -> pd.DataFrame:
    present = set(pq.read_schema(matrix).names)
    facts = [f for f in FACTS if f in present]
    table = pq.read_table(matrix, columns=["household_key", "ward", *facts],
                          filters=[("as_of", "=", as_of.to_datetime64())]).to_pandas()
    keys = pq.read_table(key_map_path(Path(matrix)), columns=["household_key", "uprn"]).to_pandas()
    keys = keys.dropna().drop_duplicates("household_key")
    frame = table.merge(keys, on="household_key", how="inner").rename(columns={"household_key": "household"})
    frame["uprn"] = frame["uprn"].astype("int64")
    return frame.drop_duplicates("uprn").set_index("uprn")


def find(as_of, household: str) -> tuple[int, pd.Series] | None:
    """(UPRN, row) of the household with pseudonym HOUSEHOLD at AS_OF, or None."""
    frame = register(as_of)
    hits = frame.index[frame["household"].to_numpy() == household]
    return (int(hits[0]), frame.loc[hits[0]]) if len(hits) else None


def key_facts(row: pd.Series) -> tuple[list[str], list[str]]:
    """The facts in the feature dictionary's plain English: those that say something, and the rest (none, no)."""
    said, quiet = [], []
    for name in FACTS:
        if name not in row.index:
            continue
        value = row[name]
        value = None if value is None or (isinstance(value, float) and np.isnan(value)) else value
        text = describe(BY_NAME[name], float(value) if value is not None else None)
        (quiet if value in (None, 0) else said).append(text)
    return said, quiet


def wards(as_of) -> list[str]:
    return sorted(register(as_of)["ward"].dropna().unique().tolist())
