"""The audit log: an append-only row for every household page viewed, list exported and action recorded,
and for sign-ins, refusals and governance decisions. Who, when, which household (its pseudonym, never the
UPRN), what, and the purpose the person stated."""
from __future__ import annotations

import csv
import datetime as dt
import io

import sqlalchemy as sa

from serving.dashboard.store import available, engine, metadata
from serving.dashboard.uk_time import as_utc, day_starts
from upstream.tables import append_only

audit_log = append_only(sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("who", sa.String(100), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("household", sa.String(80)),
    sa.Column("what", sa.String(60), nullable=False),
    sa.Column("purpose", sa.String(200), nullable=False, default=""),
    sa.Column("detail", sa.Text, nullable=False, default=""),
    sa.Index("audit_log_by_time", "at"),
))
COLUMNS = ("id", "at", "who", "role", "household", "what", "purpose", "detail")


def record(who: str, role: str, what: str, household: str | None = None, purpose: str = "", detail: str = "") -> None:
    record_all([{"who": who, "role": role, "what": what, "household": household, "purpose": purpose,
                 "detail": detail}])


def record_all(rows: list[dict]) -> None:
    """ROWS (who, role, what and optionally household, purpose, detail) in one transaction: all or none."""
    at = dt.datetime.now(dt.timezone.utc)
    with available(), engine().begin() as db:
        db.execute(audit_log.insert(), [{"household": None, "purpose": "", "detail": "", **row, "at": at}
                                        for row in rows])


def search(who: str = "", what: str = "", household: str = "", since: dt.date | None = None,
           until: dt.date | None = None, limit: int | None = 500) -> list[dict]:
    """Rows matching every filter given, newest first (SINCE and UNTIL are UK days)."""
    where = []
    if who:
        where.append(audit_log.c.who == who)
    if what:
        where.append(audit_log.c.what == what)
    if household:
        where.append(audit_log.c.household == household)
    if since:
        where.append(audit_log.c.at >= day_starts(since))
    if until:
        where.append(audit_log.c.at < day_starts(until + dt.timedelta(days=1)))
    query = audit_log.select().where(*where).order_by(audit_log.c.id.desc())
    with available(), engine().connect() as db:
        return [dict(row) for row in db.execute(query.limit(limit) if limit else query).mappings()]


def kinds() -> list[str]:
    with available(), engine().connect() as db:
        return sorted(db.execute(sa.select(audit_log.c.what).distinct()).scalars())


def as_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "at": as_utc(row["at"]).isoformat(timespec="seconds")})
    return out.getvalue()
