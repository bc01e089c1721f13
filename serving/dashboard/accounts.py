"""Local accounts: argon2 password hashes, lockout after repeated failures, and a session version that
signing out bumps, so a copied session cookie stops working the moment its owner signs out. Admins change a
person's role and wards, set a new password, and disable the account of someone who has left (the record
stays, so the audit log still names who did what; a new password brings a disabled local account back).

With single sign-on (OIDC, `single_sign_on.py`) a person's record is made and updated from the identity
provider's claims on each sign-in and holds no password (it cannot sign in here); these local accounts stay
the default and the break-glass route.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from serving.dashboard.access import normalised_role
from serving.dashboard.store import available, engine, metadata

MAX_FAILURES = int(os.environ.get("UPSTREAM_LOCKOUT_FAILURES", "5"))
LOCKOUT = dt.timedelta(minutes=float(os.environ.get("UPSTREAM_LOCKOUT_MINUTES", "15")))
MIN_PASSWORD = 10
NO_PASSWORD = "single sign-on"  # what a single sign-on record holds instead of a hash: matches no password
DISABLED = "disabled"  # what a disabled account holds instead: matches no password, refuses single sign-on
hasher = PasswordHasher()
_DUMMY = hasher.hash("not a password anyone has")  # unknown names take as long as wrong passwords

users = sa.Table(
    "dashboard_users", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("wards", sa.JSON, nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("failed_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
    sa.Column("session_version", sa.Integer, nullable=False, default=1),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_sign_in", sa.DateTime(timezone=True)),
)

# Which provider account each single sign-on record belongs to: its issuer and subject, never its name
# (names can be reused or edited at the provider; the subject cannot).
sso_identities = sa.Table(
    "dashboard_sso_identities", metadata,
    sa.Column("issuer", sa.String(300), primary_key=True),
    sa.Column("subject", sa.String(300), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("dashboard_users.id"), nullable=False, unique=True),
)


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    wards: tuple[str, ...]
    session_version: int


class Refused(Exception):
    """Sign-in refused; the message never says whether the name exists."""


class Invalid(ValueError):
    """An account change refused, with the form FIELD it is about (name, role, wards or password)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class Disabled(Exception):
    """A single sign-on to an account an admin has disabled."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.replace(tzinfo=dt.timezone.utc) if moment is not None and moment.tzinfo is None else moment


def _user(row) -> User:
    return User(row.id, row.name, row.role, tuple(row.wards or ()), row.session_version)


def _access(role: str, wards, known_wards=None) -> tuple[str, list[str]]:
    """ROLE as stored and WARDS cleaned; caseworkers and team managers need at least one ward to see any
    household, and every ward must be one of KNOWN_WARDS when the borough's wards are known."""
    try:
        role = normalised_role(role)
    except ValueError as exc:
        raise Invalid("role", str(exc)) from None
    wards = sorted({w.strip() for w in wards or () if w.strip()})
    if role in ("caseworker", "team-manager") and not wards:
        raise Invalid("wards", f"a {role} needs at least one ward to see households in")
    unknown = [w for w in wards if known_wards and w not in known_wards]
    if unknown:
        raise Invalid("wards", f"no ward is called {', '.join(map(repr, unknown))}; the borough's wards are "
                               + ", ".join(sorted(known_wards)))
    return role, wards


def _checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise Invalid("password", f"the password must be at least {MIN_PASSWORD} characters")
    return hasher.hash(password)


def add(name: str, role: str, password: str, wards: list[str] | None = None, known_wards=None) -> User:
    """A new account (Invalid says what is wrong with it)."""
    name = name.strip()
    if not name:
        raise Invalid("name", "a user needs a name")
    role, wards = _access(role, wards, known_wards)
    password_hash = _checked_password(password)
    with available(), engine().begin() as db:
        if db.execute(sa.select(users.c.id).where(users.c.name == name)).first():
            raise Invalid("name", f"there is already a user called {name!r}")
        new_id = db.execute(users.insert().values(
            name=name, role=role, wards=wards, password_hash=password_hash, failed_attempts=0,
            session_version=1, created_at=_now())).inserted_primary_key[0]
    return User(new_id, name, role, tuple(wards), 1)


def authenticate(name: str, password: str) -> User:
    """The user if NAME and PASSWORD match and the account is not locked; Refused otherwise. Each failure
    counts; the MAX_FAILURES-th locks the account for LOCKOUT."""
    refusal = None
    with available(), engine().begin() as db:  # the failure is committed before Refused is raised
        row = db.execute(users.select().where(users.c.name == name.strip())).first()
        if row is None or row.password_hash in (NO_PASSWORD, DISABLED):  # neither has a password here
            _verify(_DUMMY, password)
            refusal = "unknown"
        elif (locked_until := _aware(row.locked_until)) and locked_until > _now():
            refusal = "locked"
        elif not _verify(row.password_hash, password):
            failures = row.failed_attempts + 1
            values = {"failed_attempts": failures}
            if failures >= MAX_FAILURES:
                values = {"failed_attempts": 0, "locked_until": _now() + LOCKOUT}
            db.execute(users.update().where(users.c.id == row.id).values(**values))
            refusal = "locked now" if "locked_until" in values else "wrong password"
        else:
            db.execute(users.update().where(users.c.id == row.id).values(
                failed_attempts=0, locked_until=None, last_sign_in=_now()))
    if refusal:
        raise Refused(refusal)
    return _user(row)


def from_single_sign_on(issuer: str, subject: str, name: str, role: str, wards: tuple[str, ...]) -> User:
    """The record of the provider's account (ISSUER, SUBJECT), made on its first sign-in and brought up to date
    with its claims on each one (role and wards as the provider says now). A name already used by another
    account (a local one, say a break-glass admin) is refused: the provider may not take it over."""
    role, wards = normalised_role(role), sorted(set(wards))
    with available(), engine().begin() as db:
        linked = db.execute(sa.select(sso_identities.c.user_id).where(
            sso_identities.c.issuer == issuer, sso_identities.c.subject == subject)).scalar()
        holder = db.execute(sa.select(users.c.id).where(users.c.name == name)).scalar()
        if holder is not None and holder != linked:
            raise ValueError(f"the user name {name!r} already belongs to another Upstream account")
        if linked is not None and db.execute(sa.select(users.c.password_hash).where(users.c.id == linked)).scalar() \
                == DISABLED:
            raise Disabled(f"the Upstream account of {name!r} has been disabled by an administrator")
        values = {"name": name, "role": role, "wards": wards, "last_sign_in": _now()}
        if linked is None:
            linked = db.execute(users.insert().values(password_hash=NO_PASSWORD, failed_attempts=0, session_version=1,
                                                      created_at=_now(), **values)).inserted_primary_key[0]
            db.execute(sso_identities.insert().values(issuer=issuer, subject=subject, user_id=linked))
        else:
            db.execute(users.update().where(users.c.id == linked).values(**values))
        row = db.execute(users.select().where(users.c.id == linked)).first()
    return _user(row)


def _verify(stored: str, password: str) -> bool:
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def by_id(user_id: int) -> User | None:
    with available(), engine().connect() as db:
        row = db.execute(users.select().where(users.c.id == user_id)).first()
    return _user(row) if row else None


def sign_out_everywhere(user_id: int) -> None:
    with available(), engine().begin() as db:
        db.execute(users.update().where(users.c.id == user_id).values(session_version=users.c.session_version + 1))


def unlock(user_id: int) -> None:
    with available(), engine().begin() as db:
        db.execute(users.update().where(users.c.id == user_id).values(failed_attempts=0, locked_until=None))


def _change(user_id: int, **values) -> None:
    """Change USER_ID's record and end their sessions: whatever changed applies from their next sign-in."""
    with available(), engine().begin() as db:
        if db.execute(users.update().where(users.c.id == user_id).values(
                session_version=users.c.session_version + 1, **values)).rowcount != 1:
            raise Invalid("name", f"there is no user with id {user_id}")


def change_access(user_id: int, role: str, wards, known_wards=None) -> None:
    role, wards = _access(role, wards, known_wards)
    _change(user_id, role=role, wards=wards)


def set_password(user_id: int, password: str) -> None:
    """A new password for a local account (unlocked, and enabled again if it was disabled)."""
    found = one(user_id)
    if found is not None and found["single_sign_on"]:
        raise Invalid("password", f"{found['name']} signs in with their council account, which has no password here")
    _change(user_id, password_hash=_checked_password(password), failed_attempts=0, locked_until=None)


def disable(user_id: int) -> None:
    """No more sign-ins, by password or single sign-on, and every session ended; the record stays."""
    _change(user_id, password_hash=DISABLED, failed_attempts=0, locked_until=None)


def one(user_id: int) -> dict | None:
    return next((u for u in everyone() if u["id"] == user_id), None)


def everyone() -> list[dict]:
    """Every account for the admin page (never the hash)."""
    with available(), engine().connect() as db:
        rows = db.execute(sa.select(users.c.id, users.c.name, users.c.role, users.c.wards, users.c.failed_attempts,
                                    users.c.locked_until, users.c.created_at, users.c.last_sign_in,
                                    (users.c.password_hash == NO_PASSWORD).label("single_sign_on"),
                                    (users.c.password_hash == DISABLED).label("disabled"),
                                    sa.exists().where(sso_identities.c.user_id == users.c.id).label("linked"))
                          .order_by(users.c.role, users.c.name)).mappings().all()
    now = _now()
    return [{**row, "single_sign_on": bool(row["single_sign_on"] or row["linked"]), "disabled": bool(row["disabled"]),
             "locked": bool(row["locked_until"] and _aware(row["locked_until"]) > now)} for row in rows]


def team_of(user: User) -> list[dict]:
    """The people sharing any of USER's wards (a team manager's team)."""
    return [u for u in everyone()
            if u["role"] in ("caseworker", "team-manager") and not u["disabled"]
            and set(u["wards"] or ()) & set(user.wards)]
