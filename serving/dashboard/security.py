"""Sessions, CSRF and role checks, on the server for every page and action.

The session is a signed cookie (HttpOnly, SameSite=Lax, Secure unless $UPSTREAM_SECURE_COOKIES=false)
holding the user's id, their account's session version (signing out bumps it, so copies of the cookie die
with it) and a CSRF token every form must echo.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from fastapi import Request

from serving.dashboard import accounts
from serving.dashboard.access import may

SESSION_COOKIE = "upstream_session"
SESSION_HOURS = float(os.environ.get("UPSTREAM_SESSION_HOURS", "8"))
CSRF_FIELD = "csrf_token"


class SignInRequired(Exception):
    pass


class Forbidden(Exception):
    pass


class CsrfRejected(Exception):
    pass


def secure_cookies() -> bool:
    return os.environ.get("UPSTREAM_SECURE_COOKIES", "true").lower() not in ("0", "false", "no")


def session_secret() -> str:
    """$UPSTREAM_SESSION_SECRET, else derived from the instance's secret (never the pseudonym key itself)."""
    from upstream.config import secret_key

    chosen = os.environ.get("UPSTREAM_SESSION_SECRET")
    return chosen or hmac.new(secret_key(), b"upstream dashboard sessions", hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    if CSRF_FIELD not in request.session:
        request.session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return request.session[CSRF_FIELD]


async def checked_form(request: Request):
    """The posted form, if it carries this session's CSRF token."""
    form = await request.form()
    sent, expected = str(form.get(CSRF_FIELD, "")), request.session.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRejected()
    return form


def start_session(request: Request, user: accounts.User) -> None:
    request.session.clear()  # a fresh session (and CSRF token) at sign-in: no fixation
    request.session.update({"uid": user.id, "sv": user.session_version, CSRF_FIELD: secrets.token_urlsafe(32)})


def current_user(request: Request) -> accounts.User | None:
    if "user" in request.state._state:
        return request.state.user
    user, uid = None, request.session.get("uid")
    if uid is not None:
        found = accounts.by_id(int(uid))
        if found is not None and found.session_version == request.session.get("sv"):
            user = found
        else:
            request.session.pop("uid", None)
    request.state.user = user
    return user


def allowed(permission: str):
    """A dependency: the signed-in user, if their role carries PERMISSION (else sign-in or 403)."""
    def check(request: Request) -> accounts.User:
        user = current_user(request)
        if user is None:
            raise SignInRequired()
        if not may(user.role, permission):
            if "household" in request.path_params:  # a try at a household, whoever makes it, is on the record
                from serving.dashboard import audit

                audit.record(user.name, user.role, "refused household",
                             household=request.path_params["household"][:80],
                             detail=f"the {user.role} role may not open households")
            raise Forbidden()
        return user
    return check


def signed_in(request: Request) -> accounts.User:
    user = current_user(request)
    if user is None:
        raise SignInRequired()
    return user


def safe_next(path: str | None) -> str | None:
    """Only a path inside this site may be returned to after signing in."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return None
