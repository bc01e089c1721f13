"""The application database as serving uses it: one engine per process, and one meaning for "unavailable".

SQLite by default (WAL, so a risk list being replaced never blocks a reader), PostgreSQL in production
($UPSTREAM_DATABASE_URL). Any failure to reach it becomes `DatabaseUnavailable`, which the API answers
with 503; a connection found broken is dropped from the pool, so the service recovers by itself when it
returns.
"""
from __future__ import annotations

import contextlib
import os
import threading

import sqlalchemy as sa

metadata = sa.MetaData()
_engines: dict[tuple, sa.Engine] = {}
_tables: dict[tuple, int] = {}  # how many tables each engine's database was given
_lock = threading.Lock()


class DatabaseUnavailable(Exception):
    """The application database cannot be reached (or answered with an error)."""


def _sqlite_pragmas(connection, _record):
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def engine() -> sa.Engine:
    """The engine for $UPSTREAM_DATABASE_URL, with serving's tables created on first use (a module imported
    later registers its table: it is created then)."""
    where = _where()
    found = _engines.get(where)
    return found if found is not None and _tables.get(where) == len(metadata.tables) else _create()


def _where() -> tuple:
    """What decides the database (read on every request, so kept to two dictionary look-ups)."""
    return os.environ.get("UPSTREAM_DATABASE_URL"), os.environ.get("UPSTREAM_HOME")


def _create() -> sa.Engine:
    from upstream.config import database_url

    where, url = _where(), database_url().replace("postgresql://", "postgresql+psycopg://", 1)
    with _lock:
        if where not in _engines:
            args = {"connect_args": {"connect_timeout": 5}} if url.startswith("postgresql") else {}
            db = sa.create_engine(url, **args)
            if db.dialect.name == "sqlite":
                sa.event.listen(db, "connect", _sqlite_pragmas)
            _engines[where], _tables[where] = db, 0
        if _tables.get(where) != len(metadata.tables):
            with available():
                metadata.create_all(_engines[where])
            _tables[where] = len(metadata.tables)
        return _engines[where]


@contextlib.contextmanager
def available():
    """Turn any failure to reach the database into DatabaseUnavailable (a clear message, never a traceback)."""
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.ProgrammingError) as exc:
        cause = type(exc.orig or exc).__name__  # the class only: messages can carry hosts and user names
        raise DatabaseUnavailable(f"the application database is unavailable ({cause}); try again shortly") from exc
