"""Equality-monitoring attributes for every (household, as-of) row of a matrix, for the fairness report.

What the council had recorded about the household's lead person before the as-of date (point in time, as
the features are: an applicant's ethnicity recorded only because they approached must not mark them
earlier), in this occupancy: the latest lead tenant, benefit claimant, homelessness applicant or
fuel-poverty assessment resident at the address. Blank, "Not known" and "Prefer not to say" are "Not
recorded", a group of its own. Never a model input: the file sits beside the matrix, like the key map,
and only `ethics` reads it. Staging writes the lead people once; the attributes are a sorted search per as-of date.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
# The file's columns as read back: text, the attributes written as dictionaries (a handful of labels
# each) but without the Arrow schema that would bring them back as categories
SCHEMA = pa.schema([("household_key", pa.string()), ("as_of", pa.timestamp("us")),
                    *[(name, pa.string()) for name in ATTRIBUTES]])


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


ETHNIC_GROUPS = {g: g for g in ("White", "Asian", "Black", "Mixed", "Other")}
NAMES = {"sex": {"F": "Female", "M": "Male"}, "ethnicity": ETHNIC_GROUPS,
         "disability": {"Y": "Disabled", "N": "Not disabled"},
         "lone_parent": {"Lone parent": "Lone parent", "Not a lone parent": "Not a lone parent"}}


def _days(values) -> np.ndarray:
    """Whole days since 1970 (dates and month starts: the comparisons below need no finer time)."""
    return np.asarray(values, dtype="datetime64[us]").astype("datetime64[D]").astype(np.int64)


def _latest_before(people: pd.DataFrame, uprn: np.ndarray, as_of: np.ndarray) -> np.ndarray:
    """For each row (UPRN, AS_OF in days), the position in PEOPLE of the latest person recorded at its address
    strictly before the as-of date (of people recorded the same day, the last listed); -1 when none. An as-of
    join done once per as-of date over every address, in sorted order, then looked up by row: several times
    faster than DuckDB's as-of join or a search per row."""
    addresses = np.unique(people["uprn"].to_numpy())
    known = _days(people["known"])
    first = min(known.min(), as_of.min())
    span = max(known.max(), as_of.max()) - first + 1
    person_key = np.searchsorted(addresses, people["uprn"].to_numpy()) * span + (known - first)
    order = np.lexsort((people["listed"].to_numpy(), person_key))  # the last listed is the last of its key
    person_key = person_key[order]
    dates, date = np.unique(as_of, return_inverse=True)
    everywhere = np.arange(len(addresses))
    latest = np.empty((len(dates), len(addresses)), dtype=np.int64)
    for i, day in enumerate(dates):
        at = np.searchsorted(person_key, everywhere * span + (day - first)) - 1
        same = (at >= 0) & (person_key[np.maximum(at, 0)] // span == everywhere)
        latest[i] = np.where(same, order[np.maximum(at, 0)], -1)
    address = pd.Index(addresses).get_indexer(uprn)
    return np.where(address >= 0, latest[date.ravel(), address], -1)


def _labelled(codes: np.ndarray, names: dict) -> pa.Array:
    """Each person's value (CODES, -1 for no person) in its group's name, "Not recorded" otherwise."""
    labels = np.array([*names.values(), NOT_RECORDED], dtype=object)
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8)), pa.array(labels, pa.string()))


def _group(values: pd.Series, names: dict) -> np.ndarray:
    """Each person's group as a position in NAMES (len(NAMES) for anything else: blank, unknown, refused)."""
    return pd.Index(list(names)).get_indexer(values) % (len(names) + 1)


def _attributes(rows: pa.Table, people: pd.DataFrame) -> pa.Table:
    """The attributes of ROWS (household_key, as_of, uprn, occ_start), in their order: each a dictionary of
    its labels, written as such (several times faster than millions of strings) and read back as SCHEMA."""
    as_of = _days(rows["as_of"].to_numpy())
    person = _latest_before(people, rows["uprn"].to_numpy(), as_of)
    known = _days(people["known"])[person]
    # What was recorded before this occupancy began (less the slack) is someone else's
    person[known < _days(rows["occ_start"].to_numpy()) - OCCUPANCY_SLACK_DAYS] = -1
    none = person < 0
    columns = {"household_key": rows["household_key"], "as_of": rows["as_of"]}
    for column in ("sex", "age_band", "ethnicity", "disability", "lone_parent"):
        if column == "age_band":
            names = {name: name for _, name in AGE_BANDS}
            born = people["date_of_birth"]
            years = (as_of - _days(born.fillna(pd.Timestamp(0)))[person]) / 365.25
            codes = np.searchsorted([low for low, _ in AGE_BANDS], years, side="right") - 1
            codes = np.where((codes < 0) | born.isna().to_numpy()[person], len(names), codes)
        else:
            names = NAMES[column]
            codes = _group(people[column], names)[person]
        codes[none] = len(names)
        columns[column] = _labelled(codes, names)
    return pa.table(columns)


def attributes(rows: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    """ROWS (household_key, as_of, uprn, occ_start) with each attribute known before the as-of date, in
    as-of date and household key order."""
    rows = rows.sort_values(["as_of", "household_key"], kind="stable", ignore_index=True)
    return _attributes(pa.Table.from_pandas(rows, preserve_index=False),
                       people.assign(listed=np.arange(len(people)))).cast(SCHEMA).to_pandas()


def write_equality(rows: pa.Table, people: Path, out: Path) -> Path:
    """The attributes of every row of a matrix (ROWS: household_key, as_of, uprn, occ_start, in the matrix's
    order), from the lead PEOPLE staging wrote."""
    # Room for a dictionary of every household key: the file a third of the size, and written faster
    pq.write_table(_attributes(rows, pd.read_parquet(people)), out, store_schema=False,
                   dictionary_pagesize_limit=16 << 20)
    return out
