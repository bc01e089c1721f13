"""The dashboard's tables in the application database (serving's engine: SQLite by default, PostgreSQL in
production), created on first use. The audit log and the recorded actions are append-only: the database
itself refuses to update or delete their rows, so no code path (or hurried fix) can rewrite history."""
from __future__ import annotations

import threading

import sqlalchemy as sa

from serving.database import available
from serving.database import engine as serving_engine

metadata = sa.MetaData()
APPEND_ONLY = ("audit_log", "household_actions")
_ready: set[tuple] = set()  # (engine, the tables registered when it was made ready)
_lock = threading.Lock()

_PG_FUNCTION = sa.DDL("""
CREATE OR REPLACE FUNCTION upstream_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only'; END $$ LANGUAGE plpgsql""")


def append_only(table: sa.Table) -> sa.Table:
    """Triggers refusing UPDATE and DELETE, added when the table is created."""
    name = table.name
    sqlite = [sa.DDL(f"CREATE TRIGGER {name}_no_{verb} BEFORE {verb.upper()} ON {name} "
                     f"BEGIN SELECT RAISE(ABORT, '{name} is append-only'); END") for verb in ("update", "delete")]
    for ddl in sqlite:
        sa.event.listen(table, "after_create", ddl.execute_if(dialect="sqlite"))
    sa.event.listen(table, "after_create", _PG_FUNCTION.execute_if(dialect="postgresql"))
    sa.event.listen(table, "after_create", sa.DDL(
        f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name} "
        "FOR EACH ROW EXECUTE FUNCTION upstream_append_only()").execute_if(dialect="postgresql"))
    return table


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
