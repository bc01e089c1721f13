"""API tokens for machine clients: created once, shown once, stored only as their SHA-256.

A token is 256 random bits, so its SHA-256 is as good as a slow password hash against guessing and lets
the store be searched by it. Roles: `service` may score and explain; `monitor` may only read health and
model information. A revoked token's hash is replaced, so it matches nothing; its row stays, with who held it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import sqlalchemy as sa

from serving.database import available, engine, metadata

ROLES = ("service", "monitor")
PREFIX = "upst_"  # recognisable in a leaked-secrets scan
api_tokens = sa.Table(
    "api_tokens", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


REVOKED = "revoked:"  # what a revoked token's hash is replaced by (with its id): no SHA-256 looks like it
_live_named = sa.select(api_tokens.c.id).where(api_tokens.c.name == sa.bindparam("name"),
                                               ~api_tokens.c.sha256.startswith(REVOKED))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(name: str, role: str) -> str:
    """A new token for NAME with ROLE; only its hash is kept, so this is the one time it is seen."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
    if not name.strip():
        raise ValueError("a token needs a name saying who or what uses it (--name)")
    token = PREFIX + secrets.token_urlsafe(32)
    with available(), engine().begin() as db:
        if db.execute(_live_named, {"name": name.strip()}).first():
            raise ValueError(f"a live API token is already called {name.strip()!r}: give this one its own name "
                             "(e.g. with the date), so each can be revoked alone")
        db.execute(api_tokens.insert().values(name=name.strip(), role=role, sha256=_digest(token),
                                              created_at=dt.datetime.now(dt.timezone.utc)))
    return token


_lookup = sa.select(api_tokens.c.sha256, api_tokens.c.name, api_tokens.c.role).where(
    api_tokens.c.sha256 == sa.bindparam("digest"))


def holder_of(token: str) -> tuple[str, str] | None:
    """(name, role) of a presented token, or None for an unknown or revoked one. Raises DatabaseUnavailable."""
    digest = _digest(token)
    with available(), engine().connect() as db:  # a statement built once: this runs on every request
        row = db.execute(_lookup, {"digest": digest}).first()
    if row is None or not hmac.compare_digest(row.sha256, digest):
        return None
    return row.name, row.role


def revoke(name: str) -> int:
    """Revoke every live token called NAME at once; returns how many (ValueError when none)."""
    with available(), engine().begin() as db:
        live = db.execute(_live_named, {"name": name.strip()}).scalars().all()
        for token_id in live:
            db.execute(api_tokens.update().where(api_tokens.c.id == token_id).values(sha256=f"{REVOKED}{token_id}"))
    if not live:
        raise ValueError(f"no live API token is called {name.strip()!r}")
    return len(live)


def revoked(sha256: str) -> bool:
    return sha256.startswith(REVOKED)


def everyone() -> list[dict]:
    """Every token, newest first: name, role, created_at and whether it is revoked (never a hash)."""
    c = api_tokens.c
    with available(), engine().connect() as db:
        rows = db.execute(sa.select(c.name, c.role, c.created_at, c.sha256).order_by(c.id.desc())).mappings().all()
    return [{"name": r["name"], "role": r["role"], "created_at": r["created_at"], "revoked": revoked(r["sha256"])}
            for r in rows]
