"""Equality-monitoring attributes for every (household, as-of) row of a matrix, for the fairness report.

What the council had recorded about the household's lead person before the as-of date (point in time, as
the features are: an applicant's ethnicity recorded only because they approached must not mark them
earlier), in this occupancy: the latest lead tenant, benefit claimant, homelessness applicant or
fuel-poverty assessment resident at the address. Blank, "Not known" and "Prefer not to say" are "Not
recorded", a group of its own. Never a model input: the file sits beside the matrix, like the key map,
and only `ethics` reads it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.sources import load_table

ATTRIBUTES = ("sex", "age_band", "ethnicity", "disability", "lone_parent")
NOT_RECORDED = "Not recorded"
AGE_BANDS = ((16, "16-24"), (25, "25-34"), (35, "35-49"), (50, "50-64"), (65, "65 and over"))
# A person recorded shortly before the council tax liability began (a tenancy signed, a claim made before
# moving in) belongs to this occupancy; one recorded earlier belongs to whoever lived there before.
OCCUPANCY_SLACK = pd.Timedelta(days=92)


def equality_path(matrix: Path) -> Path:
    return Path(matrix).with_name(Path(matrix).stem + ".equality.parquet")


def _uprns(links: pd.DataFrame, source: str) -> pd.Series:
    linked = links[(links["source"] == source) & links["uprn"].notna()]
    return linked.set_index("record_id")["uprn"].astype("int64")


def _person(frame: pd.DataFrame, prefix: str, uprn: pd.Series, known: pd.Series, lone_parent=None) -> pd.DataFrame:
    return pd.DataFrame({
        "uprn": uprn.to_numpy(), "known": pd.to_datetime(known).to_numpy(),
        "sex": frame[f"{prefix}sex"].to_numpy(), "ethnicity": frame[f"{prefix}ethnicity"].to_numpy(),
        "disability": frame[f"{prefix}disability"].to_numpy(),
        "date_of_birth": pd.to_datetime(frame[f"{prefix}date_of_birth"]).to_numpy(),
        "lone_parent": lone_parent if lone_parent is not None else None,
    }).dropna(subset=["uprn", "known"])


def lead_people(data_dir: Path, links: pd.DataFrame) -> pd.DataFrame:
    """Every recorded lead person with the address (UPRN) and the date the council learnt of them."""
    def load(path):
        return load_table(data_dir, path).data

    tenancies = load("rent/tenancies").set_index("tenancy_ref")
    tenants = load("rent/tenants")
    leads = tenants[tenants["role"] == "lead"]
    ref = leads["tenancy_ref"]
    rent = _person(leads, "", ref.map(_uprns(links, "rent")), ref.map(tenancies["tenancy_start"]))

    claims = load("benefits/claims").drop_duplicates("claim_ref").set_index("claim_ref")
    members = load("benefits/members")
    roles = members.groupby("claim_ref")["role"].agg(set)
    claimants = members[members["role"] == "claimant"].drop_duplicates("claim_ref")
    ref = claimants["claim_ref"]
    lone = ref.map(roles).map(lambda r: "Lone parent" if "dependant" in r and "partner" not in r
                              else "Not a lone parent").to_numpy()
    benefits = _person(claimants, "", ref.map(_uprns(links, "benefits")), ref.map(claims["start_date"]), lone)

    cases = load("homelessness/cases")
    cases = _person(cases, "applicant_", cases["case_ref"].map(_uprns(links, "homelessness")), cases["decision_date"])
    assessments = load("fuel_poverty/assessments")
    fuel = _person(assessments, "resident_", assessments["assessment_ref"].map(_uprns(links, "fuel_poverty")),
                   assessments["assessment_date"])
    return pd.concat([rent, benefits, cases, fuel], ignore_index=True).astype({"uprn": "int64"})


def _recorded(values: pd.Series, names: dict) -> pd.Series:
    return values.map(names).fillna(NOT_RECORDED)


def _age_band(dob: pd.Series, as_of: pd.Series) -> pd.Series:
    years = (as_of - dob).dt.days / 365.25
    bands = np.full(len(years), NOT_RECORDED, dtype=object)
    for low, name in AGE_BANDS:
        bands[(years >= low).to_numpy()] = name
    bands[(years < AGE_BANDS[0][0]).to_numpy() | years.isna().to_numpy()] = NOT_RECORDED
    return pd.Series(bands, index=dob.index)


def attributes(rows: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    """ROWS (household_key, as_of, uprn, occ_start) with each attribute known before the as-of date."""
    rows = rows.assign(as_of=rows["as_of"].astype("datetime64[us]"), uprn=rows["uprn"].astype("int64"))
    rows = rows.sort_values("as_of", kind="stable")
    people = people.assign(known=people["known"].astype("datetime64[us]")).sort_values("known", kind="stable")
    found = pd.merge_asof(rows, people, left_on="as_of", right_on="known", by="uprn",
                          allow_exact_matches=False, direction="backward")
    other_occupancy = found["known"] < found["occ_start"].astype("datetime64[us]") - OCCUPANCY_SLACK
    found.loc[other_occupancy, ["sex", "ethnicity", "disability", "date_of_birth", "lone_parent"]] = None
    ethnic_groups = {g: g for g in ("White", "Asian", "Black", "Mixed", "Other")}
    lone = found["lone_parent"].where(found["lone_parent"].notna(), NOT_RECORDED)
    return pd.DataFrame({
        "household_key": found["household_key"], "as_of": found["as_of"],
        "sex": _recorded(found["sex"], {"F": "Female", "M": "Male"}),
        "age_band": _age_band(found["date_of_birth"], found["as_of"]),
        "ethnicity": _recorded(found["ethnicity"], ethnic_groups),
        "disability": _recorded(found["disability"], {"Y": "Disabled", "N": "Not disabled"}),
        "lone_parent": lone,
    }).sort_values(["as_of", "household_key"], kind="stable").reset_index(drop=True)


def write_equality(data_dir: Path, links: pd.DataFrame, rows: pd.DataFrame, out: Path) -> Path:
    attributes(rows, lead_people(data_dir, links)).to_parquet(out, index=False)
    return out
