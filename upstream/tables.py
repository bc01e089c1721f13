"""Append-only tables: the database itself refuses to update, delete or truncate their rows, so no code path
(or hurried fix at a console) can rewrite the audit log, the recorded actions or the board's decisions."""
from __future__ import annotations

import sqlalchemy as sa

_PG_FUNCTION = sa.DDL("""
CREATE OR REPLACE FUNCTION upstream_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only'; END $$ LANGUAGE plpgsql""")


def append_only(table: sa.Table) -> sa.Table:
    """Triggers refusing UPDATE and DELETE (and, on PostgreSQL, TRUNCATE), added when the table is created."""
    name = table.name
    for verb in ("update", "delete"):
        sa.event.listen(table, "after_create", sa.DDL(
            f"CREATE TRIGGER {name}_no_{verb} BEFORE {verb.upper()} ON {name} "
            f"BEGIN SELECT RAISE(ABORT, '{name} is append-only'); END").execute_if(dialect="sqlite"))
    sa.event.listen(table, "after_create", _PG_FUNCTION.execute_if(dialect="postgresql"))
    sa.event.listen(table, "after_create", sa.DDL(
        f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name} "
        "FOR EACH ROW EXECUTE FUNCTION upstream_append_only()").execute_if(dialect="postgresql"))
    sa.event.listen(table, "after_create", sa.DDL(
        f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
        "FOR EACH STATEMENT EXECUTE FUNCTION upstream_append_only()").execute_if(dialect="postgresql"))
    return table
