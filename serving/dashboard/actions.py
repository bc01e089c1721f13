"""What caseworkers did about a household: contacted, referred, no action (with a reason), an outcome
later, and, separately, whether they disagree with the score (with a reason, which feeds monitoring).

Rows are append-only: a correction is a new row. Households are identified by their pseudonym.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from serving.dashboard.store import available, engine, metadata
from upstream.tables import append_only

KINDS = {"contacted": "Contacted", "referred": "Referred", "no_action": "No action", "outcome": "Outcome recorded",
         "allocated": "Allocated"}
REFERRED_TO = {"money-advice-hub": "Money advice hub", "fuel-poverty-scheme": "Fuel-poverty scheme",
               "housing-options": "Housing options team", "tenancy-sustainment": "Tenancy sustainment officer",
               "other": "Another service"}
# A household's status is its latest action of these kinds; allocation is shown on its own.
STATUSES = {"not_started": "Not started", "contacted": "Contacted", "referred": "Referred",
            "no_action": "No action", "outcome": "Outcome recorded"}
STATUS_COLOURS = {"not_started": "grey", "contacted": "blue", "referred": "purple", "no_action": "black",
                  "outcome": "green"}

household_actions = append_only(sa.Table(
    "household_actions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("household", sa.String(80), nullable=False),
    sa.Column("by", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default=""),  # referred to, the reason, the outcome, allocated to
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("target", sa.String(20)),
    sa.Column("model_version", sa.String(20)),
    sa.Column("disagrees", sa.Boolean, nullable=False, default=False),
    sa.Column("disagreement", sa.Text, nullable=False, default=""),
    sa.Index("household_actions_by_household", "household", "id"),
))


def record(household: str, by: str, kind: str, detail: str = "", note: str = "", target: str | None = None,
           model_version: str | None = None, disagrees: bool = False, disagreement: str = "") -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown action {kind!r}")
    if disagrees and not disagreement.strip():
        raise ValueError("say why you disagree with the score")
    with available(), engine().begin() as db:
        db.execute(household_actions.insert().values(
            at=dt.datetime.now(dt.timezone.utc), household=household, by=by, kind=kind, detail=detail.strip(),
            note=note.strip(), target=target, model_version=model_version, disagrees=disagrees,
            disagreement=disagreement.strip()))


def timeline(household: str) -> list[dict]:
    """Every action on HOUSEHOLD, newest first."""
    with available(), engine().connect() as db:
        rows = db.execute(household_actions.select().where(household_actions.c.household == household)
                          .order_by(household_actions.c.id.desc())).mappings().all()
    return [dict(r) for r in rows]


def statuses(households: list[str] | None = None) -> dict[str, dict]:
    """{pseudonym: {"status", "allocated_to"}} for households with any action (the rest are not started)."""
    query = sa.select(household_actions.c.household, household_actions.c.kind, household_actions.c.detail
                      ).order_by(household_actions.c.id)
    if households is not None:
        query = query.where(household_actions.c.household.in_(households))
    found: dict[str, dict] = {}
    with available(), engine().connect() as db:
        for household, kind, detail in db.execute(query):
            entry = found.setdefault(household, {"status": "not_started", "allocated_to": None})
            if kind == "allocated":
                entry["allocated_to"] = detail
            else:
                entry["status"] = kind
    return found


def summary() -> list[dict]:
    """Counts by target, model version, kind and detail, with disagreements: what the analyst monitors."""
    c = household_actions.c
    detail = sa.case((c.kind == "referred", c.detail), else_="").label("detail")  # free text stays out of aggregates
    query = (sa.select(c.target, c.model_version, c.kind, detail, sa.func.count().label("actions"),
                       sa.func.sum(sa.case((c.disagrees, 1), else_=0)).label("disagreements"))
             .where(c.kind != "allocated").group_by(c.target, c.model_version, c.kind, detail)
             .order_by(c.target, c.model_version, c.kind, detail))
    with available(), engine().connect() as db:
        return [dict(r) for r in db.execute(query).mappings()]

