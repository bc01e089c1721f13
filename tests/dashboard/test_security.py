"""Sign-in, lockout, session cookies and CSRF, on an empty instance (accounts only) and on the world."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.dashboard.conftest import PASSWORD, Browser


@pytest.fixture
def fresh():
    """A dashboard on this test's own empty UPSTREAM_HOME with one caseworker."""
    from serving.dashboard import accounts, create_app

    accounts.add("casey", "caseworker", PASSWORD, ["Abbey Mead"])
    with TestClient(create_app(), base_url="https://testserver") as client:
        yield Browser(client)


def test_a_correct_password_signs_in_with_a_secure_http_only_lax_cookie(fresh):
    response = fresh.sign_in("casey")
    assert response.status_code == 303 and response.headers["location"] == "/list"
    cookie = response.headers["set-cookie"].lower()
    assert "upstream_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie


def test_the_secure_flag_can_be_turned_off_for_plain_http(monkeypatch):
    from serving.dashboard import accounts, create_app

    monkeypatch.setenv("UPSTREAM_SECURE_COOKIES", "false")
    accounts.add("casey", "caseworker", PASSWORD, ["Abbey Mead"])
    with TestClient(create_app(), base_url="http://testserver") as client:
        response = Browser(client).sign_in("casey")
    assert "secure" not in response.headers["set-cookie"].lower()


def test_a_wrong_password_is_refused_without_saying_whether_the_name_exists(fresh):
    wrong = fresh.sign_in("casey", "not the password")
    unknown = fresh.sign_in("nobody-here", "not the password")
    assert wrong.status_code == unknown.status_code == 400
    assert "Enter a correct user name and password" in wrong.text
    strip = lambda html: html.replace("casey", "").replace("nobody-here", "")  # noqa: E731
    assert strip(wrong.text).count("correct user name") == strip(unknown.text).count("correct user name")
    assert fresh.get("/list").status_code == 303


def test_repeated_failures_lock_the_account_even_against_the_right_password(fresh):
    from serving.dashboard import accounts, audit

    for _ in range(accounts.MAX_FAILURES):
        assert fresh.sign_in("casey", "guessing wrong").status_code == 400
    assert fresh.sign_in("casey", PASSWORD).status_code == 400
    assert [r["detail"] for r in audit.search(what="refused sign-in")][:2] == ["locked", "locked now"]
    accounts.unlock(accounts.everyone()[0]["id"])
    assert fresh.sign_in("casey", PASSWORD).status_code == 303


def test_a_lock_expires(fresh, monkeypatch):
    import datetime as dt

    from serving.dashboard import accounts

    monkeypatch.setattr(accounts, "LOCKOUT", dt.timedelta(seconds=-1))  # already over when set
    for _ in range(accounts.MAX_FAILURES):
        fresh.sign_in("casey", "guessing wrong")
    assert fresh.sign_in("casey", PASSWORD).status_code == 303


def test_passwords_are_stored_as_argon2_hashes(fresh):
    from serving.dashboard import accounts
    from serving.dashboard.store import engine

    with engine().connect() as db:
        stored = db.execute(sa.select(accounts.users.c.password_hash)).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_forms_without_the_session_csrf_token_are_refused(fresh):
    fresh.get("/sign-in")
    assert fresh.post("/sign-in", {"name": "casey", "password": PASSWORD}, csrf=False).status_code == 403
    assert fresh.post("/sign-in", {"name": "casey", "password": PASSWORD, "csrf_token": "forged"}).status_code == 403
    assert fresh.sign_in("casey").status_code == 303
    fresh.get("/list")
    response = fresh.post("/sign-out", {"csrf_token": "forged"})
    assert response.status_code == 403 and "This form has expired" in response.text
    assert fresh.get("/list").status_code == 200  # still signed in: the forged sign-out did nothing


def test_signing_out_kills_copies_of_the_session_cookie(fresh):
    fresh.sign_in("casey")
    copied = dict(fresh.client.cookies)
    fresh.get("/list")
    assert fresh.post("/sign-out").headers["location"] == "/sign-in"
    fresh.client.cookies.clear()
    fresh.client.cookies.update(copied)
    assert fresh.get("/list").status_code == 303


def test_after_sign_in_people_return_to_the_page_they_asked_for_but_never_off_site(fresh):
    fresh.get("/sign-in?next=/list%3Fband%3Dhigh")
    assert fresh.post("/sign-in", {"name": "casey", "password": PASSWORD, "next": "/list?band=high"}
                      ).headers["location"] == "/list?band=high"
    other = Browser(fresh.client)
    fresh.client.cookies.clear()
    other.get("/sign-in")
    assert other.post("/sign-in", {"name": "casey", "password": PASSWORD, "next": "//evil.example/"}
                      ).headers["location"] == "/list"


def test_pages_carry_a_strict_content_policy_and_are_not_cached(fresh):
    response = fresh.get("/sign-in")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
