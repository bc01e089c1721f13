"""This month's priority lists, read from the risk lists `upstream score --as-of` writes, joined to the
household register (pseudonym, ward) and to what caseworkers have recorded (status, allocation).

Only lists scored by a version the ethics board still approves are shown: a version rejected after its
lists were written (the board changed its mind) is withdrawn from caseworkers at once, as it is from the
scoring API.

A month's list is read once per version written and kept in memory: it holds every household of the
borough, and the pages filter it many times a minute.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from ethics.approval import latest_decision
from models.experiment import REGISTERED_NAMES
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
SORTS = {"ward": "ward", "status": "status"}  # besides rank, the list's order by default; ties keep rank order


@dataclass(frozen=True)
class Month:
    target: str
    as_of: pd.Timestamp
    model_version: str
    rows: pd.DataFrame  # uprn, score, band, rank, reasons, household, ward
    capacity: int  # households caseworkers can reach in a month (the very high band)


def _list_c():
    return risk_lists.risk_lists.c


def _written(target: str) -> list[tuple]:
    """(as_of, model version, last written) of every list written for TARGET, newest month first, then the
    most recently written version."""
    c = _list_c()
    with available(), engine().connect() as db:
        return db.execute(sa.select(c.as_of, c.model_version, sa.func.max(c.written_at)).where(c.target == target)
                          .group_by(c.as_of, c.model_version)
                          .order_by(c.as_of.desc(), sa.func.max(c.written_at).desc())).all()


def _approved(target: str, version: str) -> bool:
    decision = latest_decision(REGISTERED_NAMES[target], version)
    return decision is not None and decision.decision == "approve"


def latest(target: str) -> Month | None:
    """TARGET's newest list (month, then the most recently written version) scored by a version the ethics
    board approves, or None when there is none."""
    verdicts = {}
    for as_of, version, written in _written(target):
        if verdicts.setdefault(version, _approved(target, version)):
            return _month(target, pd.Timestamp(as_of), str(version), str(written))
    return None


def listed(target: str, version: str) -> bool:
    """Whether any list for TARGET was scored by VERSION."""
    return any(str(row[1]) == str(version) for row in _written(target))


def withdrawn(target: str) -> list[dict]:
    """The versions whose lists for TARGET are no longer shown because the board rejected them: version,
    who decided, when and why."""
    found = []
    for version in dict.fromkeys(str(row[1]) for row in _written(target)):
        decision = latest_decision(REGISTERED_NAMES[target], version)
        if decision is not None and decision.decision != "approve":
            found.append({"version": version, "by": decision.decided_by, "at": decision.at, "note": decision.note})
    return found


@functools.lru_cache(maxsize=4)
def _month(target: str, as_of: pd.Timestamp, version: str, _written: str) -> Month:
    rows = risk_lists.read(as_of, target, version)
    register = households.register(as_of)[["household", "ward"]]
    rows = rows.join(register, on="uprn", how="left")
    rows["household"] = rows["household"].fillna("")
    capacity = int((rows["band"] == "very_high").sum())
    return Month(target, as_of, version, rows[["uprn", "household", "ward", "score", "band", "rank", "reasons"]],
                 capacity)


def filtered(month: Month, wards: tuple[str, ...], ward: str = "", band: str = "", status: str = "",
             sort: str = "") -> pd.DataFrame:
    """MONTH's households in WARDS (optionally one ward, band and status), best first or by SORT (a key of
    SORTS, then best first), with their status."""
    rows = month.rows[month.rows["ward"].isin(wards)]
    if ward:
        rows = rows[rows["ward"] == ward]
    if band:
        rows = rows[rows["band"] == band]
    found = actions.statuses(rows["household"].tolist()) if len(rows) < 20_000 else actions.statuses()
    # Object columns: a list of names and Nones would otherwise become text with NaN, which reads as true
    rows = rows.assign(status=[found.get(h, {}).get("status", "not_started") for h in rows["household"]],
                       allocated_to=pd.Series([found.get(h, {}).get("allocated_to") for h in rows["household"]],
                                              index=rows.index, dtype=object))
    if status:
        rows = rows[rows["status"] == status]
    if sort == "status":  # in the order a case moves through
        order = {key: i for i, key in enumerate(actions.STATUSES)}
        return rows.sort_values("status", kind="stable", key=lambda column: column.map(order))
    return rows.sort_values(SORTS[sort], kind="stable") if sort else rows


def on_list(month: Month, uprn: int) -> dict | None:
    """One household's row of MONTH (score, band, rank, reasons), or None."""
    hit = month.rows[month.rows["uprn"] == uprn]
    return hit.iloc[0].to_dict() if len(hit) else None


def trend(target: str, uprn: int, months: int = 12) -> list[dict]:
    """The household's score, band and rank in each month's list (the newest written version of each that the
    board approves)."""
    c = _list_c()
    query = (sa.select(c.as_of, c.model_version, c.score, c.band, c.rank, c.written_at)
             .where(c.target == target, c.uprn == int(uprn)).order_by(c.as_of, c.written_at))
    with available(), engine().connect() as db:
        rows = db.execute(query).mappings().all()
    approved = {v: _approved(target, v) for v in {row["model_version"] for row in rows}}
    newest = {}
    for row in rows:  # later writes of a month replace earlier ones
        if approved[row["model_version"]]:
            newest[row["as_of"]] = dict(row)
    return [newest[k] for k in sorted(newest)][-months:]


def meaning(band: str, capacity: int) -> str:
    return BAND_MEANINGS[band].format(k=capacity, k1=capacity + 1, k4=4 * capacity)


def known_wards() -> set[str]:
    """The borough's wards, from the households of the latest list (none written yet: not checked)."""
    month = latest("homelessness") or latest("fuel_poverty")
    return set(households.wards(month.as_of)) if month else set()
