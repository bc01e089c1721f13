"""The month's risk lists in the application database, where the dashboard reads them.

One list per as-of month, target and model version: every resident household with its score, band, rank
and reasons. Writing a list replaces that list in one transaction, so a reader sees the old list or the
new one, never half of either; a failed write leaves the old list as it was.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from serving.database import available, engine, metadata

COLUMNS = ["as_of", "target", "model_version", "uprn", "score", "band", "rank", "reasons"]
risk_lists = sa.Table(
    "risk_lists", metadata,
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("target", sa.String(20), nullable=False),
    sa.Column("model_version", sa.String(20), nullable=False),
    sa.Column("uprn", sa.BigInteger, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("band", sa.String(12), nullable=False),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("risk_lists_by_list", "as_of", "target", "model_version", "rank"),
)
CHUNK = 10_000  # rows per INSERT batch: bounded memory, few round trips


def replace(frame: pd.DataFrame) -> int:
    """Write FRAME (COLUMNS) as the lists it holds, each replacing any earlier list for the same month,
    target and version, all in one transaction. Returns the rows written."""
    missing = set(COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"a risk list needs the columns {sorted(missing)}")
    rows = frame[COLUMNS].assign(as_of=pd.to_datetime(frame["as_of"]).dt.date,
                                 uprn=frame["uprn"].astype("int64"), rank=frame["rank"].astype("int64"),
                                 reasons=frame["reasons"].map(list), written_at=dt.datetime.now(dt.timezone.utc))
    lists = rows[["as_of", "target", "model_version"]].drop_duplicates().itertuples(index=False)
    records = rows.to_dict("records")
    with available(), engine().begin() as db:
        for as_of, target, version in lists:
            db.execute(risk_lists.delete().where(risk_lists.c.as_of == as_of, risk_lists.c.target == target,
                                                 risk_lists.c.model_version == version))
        for start in range(0, len(records), CHUNK):
            db.execute(risk_lists.insert(), records[start:start + CHUNK])
    return len(records)


def read(as_of, target: str, model_version: str | None = None) -> pd.DataFrame:
    """A month's list for TARGET, best first: the given version's, else the most recently written one."""
    day = pd.Timestamp(as_of).date()
    where = [risk_lists.c.as_of == day, risk_lists.c.target == target]
    with available(), engine().connect() as db:
        if model_version is None:
            model_version = db.execute(sa.select(risk_lists.c.model_version).where(*where)
                                       .order_by(risk_lists.c.written_at.desc()).limit(1)).scalar()
        query = (sa.select(*(risk_lists.c[name] for name in COLUMNS))
                 .where(*where, risk_lists.c.model_version == str(model_version)).order_by(risk_lists.c.rank))
        return pd.DataFrame(db.execute(query).mappings().all(), columns=COLUMNS)
