"""Single sign-on (OIDC) against a real provider process on the loopback interface: the whole authorization
code flow with PKCE, and every way a sign-in must be refused (the browser's own walk is in test_browser.py)."""
from __future__ import annotations

import urllib.parse

import httpx
import pytest

from tests.dashboard.conftest import SSO_FAULTS, Browser


@pytest.fixture
def sso_browser(in_world, oidc_provider, monkeypatch):
    """make() -> a new person at a dashboard configured for the test provider."""
    from fastapi.testclient import TestClient

    from serving.dashboard import create_app

    for name, value in oidc_provider.env.items():
        monkeypatch.setenv(name, value)
    clients = []

    def make() -> Browser:
        clients.append(TestClient(create_app(), base_url="https://testserver"))
        return Browser(clients[-1])
    yield make
    for client in clients:
        client.close()


def _to_provider(browser: Browser, next_path: str | None = None) -> str:
    """Press "Sign in with your council account": the provider's authorization URL we are sent to."""
    response = browser.get("/oidc/sign-in" + (f"?next={urllib.parse.quote(next_path)}" if next_path else ""))
    assert response.status_code == 302, response.text
    return response.headers["location"]


def _provider_answer(authorize_url: str, user: str) -> str:
    """The person signs in at the provider's own page: the callback URL the provider sends them back to."""
    page = httpx.get(authorize_url)
    assert page.status_code == 200 and "Test council: sign in" in page.text
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize_url).query))
    answer = httpx.post(authorize_url.split("?")[0], data={**params, "user": user})
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def _callback(browser: Browser, callback_url: str):
    parts = urllib.parse.urlsplit(callback_url)
    return browser.get(f"{parts.path}?{parts.query}")


def sso_sign_in(browser: Browser, user: str, next_path: str | None = None):
    return _callback(browser, _provider_answer(_to_provider(browser, next_path), user))


def _account(name: str):
    from serving.dashboard.accounts import sso_identities, users
    from serving.dashboard.store import engine

    with engine().connect() as db:
        row = db.execute(users.select().where(users.c.name == name)).mappings().first()
        links = db.execute(sso_identities.select().where(sso_identities.c.user_id == row["id"])).mappings().all() \
            if row else []
    return row, links


def test_the_sign_in_page_offers_the_council_account(sso_browser):
    page = sso_browser().get("/sign-in?next=/list")
    assert "Sign in with your council account" in page.text
    assert 'href="/oidc/sign-in?next=/list"' in page.text
    assert 'id="password"' in page.text  # local accounts stay, for break-glass access


def test_without_configuration_there_is_no_single_sign_on(browser):
    assert "council account" not in browser.get("/sign-in").text
    assert browser.get("/oidc/sign-in").status_code == 404
    assert browser.get("/oidc/callback?code=x&state=y").status_code == 404


def test_a_caseworker_signs_in_with_pkce_and_sees_only_the_wards_in_the_claim(sso_browser, oidc_provider, in_world):
    from serving.dashboard import audit
    from serving.dashboard.accounts import NO_PASSWORD

    person = sso_browser()
    authorize = _to_provider(person, "/list?band=very_high")
    asked = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize).query))
    assert authorize.startswith(f"{oidc_provider.issuer}/authorize?")
    assert asked["response_type"] == "code" and asked["code_challenge_method"] == "S256"
    assert len(asked["code_challenge"]) >= 43 and asked["state"] and asked["nonce"]
    assert asked["redirect_uri"] == "https://testserver/oidc/callback" and "openid" in asked["scope"].split()

    landed = _callback(person, _provider_answer(authorize, "casey"))
    assert landed.status_code == 303 and landed.headers["location"] == "/list?band=very_high"
    listing = person.get("/list")
    assert listing.status_code == 200 and "casey.worker@council.test" in listing.text
    row, links = _account("casey.worker@council.test")
    assert row["role"] == "caseworker" and row["wards"] == [in_world.wards[0]] and row["password_hash"] == NO_PASSWORD
    assert [(link["issuer"], link["subject"]) for link in links] == [(oidc_provider.issuer, "casey-subject")]
    assert audit.search(who="casey.worker@council.test", what="signed in")[0]["detail"] == "single sign-on"

    # the wards claim limits what she sees: her own ward's household opens, the team's other ward's does not
    assert person.get(f"/households/{in_world.own}").status_code == 200
    other_ward = _a_household_in(in_world, in_world.wards[1])
    assert person.get(f"/households/{other_ward}?purpose=priority-list").status_code == 403
    assert person.get(f"/households/{in_world.other}?purpose=priority-list").status_code == 403
    assert person.get("/performance").status_code == 403
    assert f"/households/{other_ward}" not in listing.text

    # with no password, the record cannot be used on the local sign-in form
    local = sso_browser()
    assert local.sign_in("casey.worker@council.test", NO_PASSWORD).status_code == 400


def _a_household_in(world, ward: str) -> str:
    from serving import risk_lists
    from serving.dashboard import households

    register = households.register(world.months[-1])
    listed = risk_lists.read(world.months[-1], "homelessness").join(register, on="uprn", how="inner")
    return listed[listed["ward"] == ward].iloc[0]["household"]


def test_the_record_follows_the_claims_at_each_sign_in(sso_browser, in_world):
    first = sso_browser()
    assert sso_sign_in(first, "casey").status_code == 303
    before, _ = _account("casey.worker@council.test")
    moved = sso_browser()
    assert sso_sign_in(moved, "casey-moved").status_code == 303  # same subject, now in the other ward
    after, links = _account("casey.worker@council.test")
    assert after["id"] == before["id"] and len(links) == 1
    assert after["wards"] == [in_world.wards[1]]
    other_ward = _a_household_in(in_world, in_world.wards[1])
    assert moved.get(f"/households/{other_ward}").status_code == 200
    assert moved.get(f"/households/{in_world.own}?purpose=priority-list").status_code == 403


def test_the_ethics_board_lands_on_the_model_versions(sso_browser, in_world):
    person = sso_browser()
    landed = sso_sign_in(person, "board")  # an Entra-style app role value, "Upstream.ethics-board"
    assert landed.status_code == 303 and landed.headers["location"] == "/models"
    assert _account("board.member@council.test")[0]["role"] == "ethics-board"
    assert person.get(f"/households/{in_world.own}").status_code == 403


@pytest.mark.parametrize("fault", SSO_FAULTS)
def test_an_id_token_that_fails_verification_is_refused(sso_browser, fault):
    from serving.dashboard import audit

    person = sso_browser()
    answer = sso_sign_in(person, fault)
    assert answer.status_code == 403
    assert "You have not been signed in" in answer.text and "could not be verified" in answer.text
    assert person.get("/list").status_code == 303  # no session: back to sign-in
    assert _account(f"{fault}@council.test")[0] is None
    refused = audit.search(what="refused sign-in")[0]
    assert refused["detail"].startswith("single sign-on: ID token refused")


def test_a_state_that_does_not_match_is_refused(sso_browser):
    from serving.dashboard import audit

    person = sso_browser()
    callback = _provider_answer(_to_provider(person), "casey")
    parts = urllib.parse.urlsplit(callback)
    query = dict(urllib.parse.parse_qsl(parts.query))
    forged = _callback(person, f"{parts.path}?{urllib.parse.urlencode({**query, 'state': query['state'] + 'x'})}")
    assert forged.status_code == 400 and "was not started from this browser" in forged.text
    assert person.get("/list").status_code == 303
    assert "state did not match" in audit.search(what="refused sign-in")[0]["detail"]

    # a provider answer carried to another browser (login CSRF) is refused the same way
    stranger = sso_browser()
    assert _callback(stranger, _provider_answer(_to_provider(sso_browser()), "casey")).status_code == 400
    assert stranger.get("/list").status_code == 303


def test_an_answer_is_used_once(sso_browser):
    person = sso_browser()
    callback = _provider_answer(_to_provider(person), "casey")
    assert _callback(person, callback).status_code == 303
    assert _callback(person, callback).status_code == 400  # the state was spent with the first use


@pytest.mark.parametrize(("user", "says"), [
    ("finance", "has no Upstream role"),
    ("no-wards", "but no wards"),
    ("two-roles", "more than one Upstream role"),
    ("takeover", "already used by another Upstream account"),
])
def test_a_sign_in_upstream_cannot_place_is_refused_with_a_reason(sso_browser, user, says):
    from serving.dashboard import accounts

    person = sso_browser()
    answer = sso_sign_in(person, user)
    assert answer.status_code == 403 and "You have not been signed in" in answer.text and says in answer.text
    assert person.get("/").headers["location"] == "/sign-in"
    if user == "takeover":  # the local admin account is untouched and still signs in with its password
        assert accounts.authenticate("admin-one", "correct horse battery").role == "admin"
    else:
        assert _account(f"{user}@council.test")[0] is None


def test_the_provider_saying_no_is_refused(sso_browser):
    person = sso_browser()
    callback = _provider_answer(_to_provider(person), "nobody-the-provider-knows")
    assert "error=access_denied" in callback
    answer = _callback(person, callback)
    assert answer.status_code == 400 and "did not sign you in" in answer.text


def test_an_unreachable_provider_is_explained(in_world, monkeypatch, browser):
    from fastapi.testclient import TestClient

    from serving.dashboard import create_app
    from tests.serving.conftest import free_port

    monkeypatch.setenv("UPSTREAM_OIDC_ISSUER", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("UPSTREAM_OIDC_CLIENT_ID", "x")
    monkeypatch.setenv("UPSTREAM_OIDC_CLIENT_SECRET", "y")
    with TestClient(create_app(), base_url="https://testserver") as client:
        answer = client.get("/oidc/sign-in", follow_redirects=False)
    assert answer.status_code == 503 and "cannot be reached" in answer.text


def test_a_half_configured_provider_stops_the_app(monkeypatch):
    from serving.dashboard import create_app
    from serving.dashboard.single_sign_on import NotConfigured

    monkeypatch.setenv("UPSTREAM_OIDC_ISSUER", "https://login.microsoftonline.com/tenant/v2.0")
    monkeypatch.delenv("UPSTREAM_OIDC_CLIENT_SECRET", raising=False)
    with pytest.raises(NotConfigured, match="UPSTREAM_OIDC_CLIENT_SECRET"):
        create_app()


def test_claims_map_to_one_role_and_wards():
    from serving.dashboard.single_sign_on import Refused, Settings, identity

    chosen = Settings("https://idp", "client", "secret", roles_claim="roles", wards_claim="groups",
                      ward_prefix="Upstream ward: ")
    person = identity({"sub": "s", "preferred_username": "a@b", "roles": ["Upstream.Team_Manager", "Mail.Send"],
                       "groups": ["Upstream ward: Abbey Mead", "All staff", "Upstream ward: Eastbrook"]}, chosen)
    assert (person.name, person.role, person.wards) == ("a@b", "team-manager", ("Abbey Mead", "Eastbrook"))
    assert identity({"sub": "s", "roles": "analyst"}, chosen).name == "s"  # no user name claim: the subject
    with pytest.raises(Refused, match="no wards"):
        identity({"sub": "s", "roles": ["caseworker"], "groups": ["All staff"]}, chosen)

