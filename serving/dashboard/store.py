"""The dashboard's tables in the application database (serving's engine: SQLite by default, PostgreSQL in
production), created on first use. The audit log and the recorded actions are append-only
(upstream.tables)."""
from __future__ import annotations

import threading

import sqlalchemy as sa

from serving.database import available
from serving.database import engine as serving_engine

metadata = sa.MetaData()
_ready: set[tuple] = set()  # (engine, the tables registered when it was made ready)
_lock = threading.Lock()


def engine() -> sa.Engine:
    """Serving's engine, with the dashboard's tables in place."""
    db = serving_engine()
    key = (id(db), frozenset(metadata.tables))  # a module imported later registers its table: create it then
    if key not in _ready:
        with _lock, available():
            if key not in _ready:
                metadata.create_all(db)
                _ready.add(key)
    return db
