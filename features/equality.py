"""Equality-monitoring attributes for every (household, as-of) row of a matrix, for the fairness report.

What the council had recorded about the household's lead person before the as-of date (point in time, as
the features are: an applicant's ethnicity recorded only because they approached must not mark them
earlier), in this occupancy: the latest lead tenant, benefit claimant, homelessness applicant or
fuel-poverty assessment resident at the address. Blank, "Not known" and "Prefer not to say" are "Not
recorded", a group of its own. Never a model input: the file sits beside the matrix, like the key map,
and only `ethics` reads it. Staging writes the lead people once; the attributes are one DuckDB query.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.linkage import linked_uprns

ATTRIBUTES = ("sex", "age_band", "ethnicity", "disability", "lone_parent")
NOT_RECORDED = "Not recorded"
AGE_BANDS = ((16, "16-24"), (25, "25-34"), (35, "35-49"), (50, "50-64"), (65, "65 and over"))
# A person recorded shortly before the council tax liability began (a tenancy signed, a claim made before
# moving in) belongs to this occupancy; one recorded earlier belongs to whoever lived there before.
OCCUPANCY_SLACK_DAYS = 92
SOURCES = ("rent/tenancies", "rent/tenants", "benefits/claims", "benefits/members", "homelessness/cases",
           "fuel_poverty/assessments")
# The file's types, as ethics has always read them
SCHEMA = pa.schema([("household_key", pa.large_string()), ("as_of", pa.timestamp("us")),
                    *[(name, pa.large_string()) for name in ATTRIBUTES[:-1]], ("lone_parent", pa.string())])


def equality_path(matrix: Path) -> Path:
    return Path(matrix).with_name(Path(matrix).stem + ".equality.parquet")


def _person(frame: pd.DataFrame, prefix: str, uprn: pd.Series, known: pd.Series, lone_parent=None) -> pd.DataFrame:
    return pd.DataFrame({
        "uprn": uprn.to_numpy(), "known": pd.to_datetime(known).to_numpy(),
        "sex": frame[f"{prefix}sex"].to_numpy(), "ethnicity": frame[f"{prefix}ethnicity"].to_numpy(),
        "disability": frame[f"{prefix}disability"].to_numpy(),
        "date_of_birth": pd.to_datetime(frame[f"{prefix}date_of_birth"]).to_numpy(),
        "lone_parent": lone_parent if lone_parent is not None else None,
    }).dropna(subset=["uprn", "known"])


def lead_people(load: Callable[[str], pd.DataFrame], links: pd.DataFrame) -> pd.DataFrame:
    """Every recorded lead person with the address (UPRN) and the date the council learnt of them; `load`
    gives a source table (one of SOURCES) through its contract."""
    tenancies = load("rent/tenancies").set_index("tenancy_ref")
    tenants = load("rent/tenants")
    leads = tenants[tenants["role"] == "lead"]
    ref = leads["tenancy_ref"]
    rent = _person(leads, "", ref.map(linked_uprns(links, "rent")), ref.map(tenancies["tenancy_start"]))

    claims = load("benefits/claims").drop_duplicates("claim_ref").set_index("claim_ref")
    members = load("benefits/members")
    roles = members.assign(dependant=members["role"] == "dependant", partner=members["role"] == "partner")
    roles = roles.groupby("claim_ref")[["dependant", "partner"]].any()
    claimants = members[members["role"] == "claimant"].drop_duplicates("claim_ref")
    ref = claimants["claim_ref"]
    lone = np.where(ref.map(roles["dependant"] & ~roles["partner"]), "Lone parent", "Not a lone parent").astype(object)
    benefits = _person(claimants, "", ref.map(linked_uprns(links, "benefits")), ref.map(claims["start_date"]), lone)

    cases = load("homelessness/cases")
    cases = _person(cases, "applicant_", cases["case_ref"].map(linked_uprns(links, "homelessness")),
                    cases["decision_date"])
    assessments = load("fuel_poverty/assessments")
    fuel = _person(assessments, "resident_", assessments["assessment_ref"].map(linked_uprns(links, "fuel_poverty")),
                   assessments["assessment_date"])
    people = pd.concat([rent, benefits, cases, fuel], ignore_index=True)
    return people.astype({"uprn": "int64", "known": "datetime64[us]", "date_of_birth": "datetime64[us]"}).assign(
        listed=np.arange(len(people)))  # the order ties on the same day are settled in


def _recorded(column: str, names: dict) -> str:
    cases = " ".join(f"WHEN '{value}' THEN '{name}'" for value, name in names.items())
    return f"CASE {column} {cases} ELSE '{NOT_RECORDED}' END AS {column}"


def _age_band() -> str:
    years = "datediff('day', date_of_birth, as_of) / 365.25"
    bands = " ".join(f"WHEN {years} >= {low} THEN '{name}'" for low, name in reversed(AGE_BANDS))
    return f"CASE {bands} ELSE '{NOT_RECORDED}' END AS age_band"


ETHNIC_GROUPS = {g: g for g in ("White", "Asian", "Black", "Mixed", "Other")}
RECORDED = ("sex", "ethnicity", "disability", "date_of_birth", "lone_parent")
# For each row (numbered by `position`, the order they keep), the latest person recorded at its address
# strictly before the as-of date (of people recorded the same day, the last listed); what was recorded before
# this occupancy (less the slack) is someone else's.
QUERY = f"""
WITH latest_of_day AS (
    SELECT * FROM people QUALIFY row_number() OVER (PARTITION BY uprn, known ORDER BY listed DESC) = 1
), found AS (
    SELECT r.position, r.household_key, r.as_of,
        p.known < r.occ_start - INTERVAL {OCCUPANCY_SLACK_DAYS} DAY AS other_occupancy,
        {", ".join(f"p.{column}" for column in RECORDED)}
    FROM matrix_rows AS r ASOF LEFT JOIN latest_of_day AS p ON r.uprn = p.uprn AND r.as_of > p.known
), this_occupancy AS (
    SELECT position, household_key, as_of,
        {", ".join(f"CASE WHEN other_occupancy THEN NULL ELSE {column} END AS {column}" for column in RECORDED)}
    FROM found
)
SELECT household_key, as_of, {_recorded("sex", {"F": "Female", "M": "Male"})}, {_age_band()},
    {_recorded("ethnicity", ETHNIC_GROUPS)}, {_recorded("disability", {"Y": "Disabled", "N": "Not disabled"})},
    coalesce(lone_parent, '{NOT_RECORDED}') AS lone_parent
FROM this_occupancy ORDER BY position
"""


def attributes(rows: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    """ROWS (household_key, as_of, uprn, occ_start) with each attribute known before the as-of date, in
    as-of date and household key order."""
    rows = rows.sort_values(["as_of", "household_key"], kind="stable", ignore_index=True)
    con = duckdb.connect()
    con.register("matrix_rows", rows.assign(position=np.arange(len(rows))))
    con.register("people", people.assign(listed=np.arange(len(people))))
    return con.sql(QUERY).df()


def write_equality(matrix: Path, key_map: Path, people: Path, out: Path) -> Path:
    """The attributes of every row of MATRIX (Parquet, in as-of date and household key order), its household
    keys resolved through KEY_MAP, from the lead PEOPLE staging wrote."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"""CREATE VIEW matrix_rows AS
                    SELECT m.file_row_number AS position, household_key, as_of, CAST(k.uprn AS BIGINT) AS uprn,
                           k.occ_start
                    FROM read_parquet('{matrix}', file_row_number = true) AS m
                    JOIN read_parquet('{key_map}') AS k USING (household_key)""")
    con.execute(f"CREATE VIEW people AS SELECT * FROM read_parquet('{people}')")
    pq.write_table(con.sql(QUERY).to_arrow_table().cast(SCHEMA), out)
    return out
