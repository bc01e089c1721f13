"""This month's priority lists, read from the risk lists `upstream score --as-of` writes, joined to the
household register (pseudonym, ward) and to what caseworkers have recorded (status, allocation).

A month's list is read once per version written and kept in memory: it holds every household of the
borough, and the pages filter it many times a minute.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from serving import risk_lists
from serving.dashboard import actions, households
from serving.database import available, engine

TARGETS = {"homelessness": "Homelessness", "fuel_poverty": "Fuel poverty"}
BANDS = {"very_high": "Very high", "high": "High", "medium": "Medium", "low": "Low"}
BAND_COLOURS = {"very_high": "red", "high": "orange", "medium": "yellow", "low": "grey"}
BAND_MEANINGS = {
    "very_high": "Among the households caseworkers can reach this month: the model places it in the top {k} of "
                 "the borough.",
    "high": "Next in line (ranks {k1} to {k4}): worth reaching if capacity allows or others have been helped.",
    "medium": "Worth watching: a light-touch offer such as a letter or advice may help.",
    "low": "No action suggested by the model.",
}
PAGE = 25


@dataclass(frozen=True)
class Month:
    target: str
    as_of: pd.Timestamp
    model_version: str
    rows: pd.DataFrame  # uprn, score, band, rank, reasons, household, ward
    capacity: int  # households caseworkers can reach in a month (the very high band)


def _list_c():
    return risk_lists.risk_lists.c


def latest(target: str) -> Month | None:
    """TARGET's newest list (month, then the most recently written version), or None when none is written."""
    c = _list_c()
    with available(), engine().connect() as db:
        found = db.execute(sa.select(c.as_of, c.model_version, sa.func.max(c.written_at)).where(c.target == target)
                           .group_by(c.as_of, c.model_version)
                           .order_by(c.as_of.desc(), sa.func.max(c.written_at).desc()).limit(1)).first()
    if found is None:
        return None
    as_of, version, written = found
    return _month(target, pd.Timestamp(as_of), str(version), str(written))


@functools.lru_cache(maxsize=4)
def _month(target: str, as_of: pd.Timestamp, version: str, _written: str) -> Month:
    rows = risk_lists.read(as_of, target, version)
    register = households.register(as_of)[["household", "ward"]]
    rows = rows.join(register, on="uprn", how="left")
    rows["household"] = rows["household"].fillna("")
    capacity = int((rows["band"] == "very_high").sum())
    return Month(target, as_of, version, rows[["uprn", "household", "ward", "score", "band", "rank", "reasons"]],
                 capacity)


def filtered(month: Month, wards: tuple[str, ...], ward: str = "", band: str = "", status: str = "") -> pd.DataFrame:
    """MONTH's households in WARDS (optionally one ward, band and status), best first, with their status."""
    rows = month.rows[month.rows["ward"].isin(wards)]
    if ward:
        rows = rows[rows["ward"] == ward]
    if band:
        rows = rows[rows["band"] == band]
    found = actions.statuses(rows["household"].tolist()) if len(rows) < 20_000 else actions.statuses()
    rows = rows.assign(status=[found.get(h, {}).get("status", "not_started") for h in rows["household"]],
                       allocated_to=[found.get(h, {}).get("allocated_to") for h in rows["household"]])
    if status:
        rows = rows[rows["status"] == status]
    return rows


def on_list(month: Month, uprn: int) -> dict | None:
    """One household's row of MONTH (score, band, rank, reasons), or None."""
    hit = month.rows[month.rows["uprn"] == uprn]
    return hit.iloc[0].to_dict() if len(hit) else None


def trend(target: str, uprn: int, months: int = 12) -> list[dict]:
    """The household's score, band and rank in each month's list (the newest written version of each)."""
    c = _list_c()
    query = (sa.select(c.as_of, c.model_version, c.score, c.band, c.rank, c.written_at)
             .where(c.target == target, c.uprn == int(uprn)).order_by(c.as_of, c.written_at))
    with available(), engine().connect() as db:
        rows = db.execute(query).mappings().all()
    newest = {}
    for row in rows:  # later writes of a month replace earlier ones
        newest[row["as_of"]] = dict(row)
    return [newest[k] for k in sorted(newest)][-months:]


def meaning(band: str, capacity: int) -> str:
    return BAND_MEANINGS[band].format(k=capacity, k1=capacity + 1, k4=4 * capacity)
