"""Every role against every route, answered on the server: allowed (its normal answer), 403, or a redirect
to sign-in for someone signed out. The table is written out here, independently of serving/dashboard/access.py."""
from __future__ import annotations

import pytest

from tests.dashboard.conftest import ROLES

CW, TM, AN, EB, AD = ROLES
# (method, path, form, roles allowed, the allowed answer)
ROUTES = [
    ("GET", "/list", None, {CW, TM}, 200),
    ("GET", "/list?target=fuel_poverty&band=very_high", None, {CW, TM}, 200),
    ("POST", "/list/export", {"target": "homelessness", "purpose": "home-visits"}, {CW, TM}, 200),
    ("GET", "/households/{own}?purpose=priority-list", None, {CW, TM}, 200),
    ("GET", "/households/{own}", None, {CW, TM}, 200),  # asks for the purpose first
    ("POST", "/households/{own}/actions", {"target": "homelessness", "kind": "contacted", "agrees": "yes"},
     {CW, TM}, 303),
    ("POST", "/households/{own}/allocate", {"allocate_to": "caseworker-one"}, {TM}, 303),
    ("GET", "/team", None, {TM}, 200),
    ("GET", "/models", None, {AN, EB}, 200),
    ("GET", "/models/homelessness-risk/1", None, {AN, EB}, 200),
    ("GET", "/models/homelessness-risk/1/report.html", None, {AN, EB}, 200),
    ("POST", "/models/homelessness-risk/2/decision", {"decision": "approve"}, {EB}, 400),  # no note: refused, unchanged
    ("GET", "/performance", None, {AN, EB}, 200),
    ("GET", "/admin/users", None, {AD}, 200),
    ("POST", "/admin/users", {"name": "new-analyst", "role": "analyst", "password": "a-long-password"}, {AD}, 303),
    ("POST", "/admin/users/1/unlock", {}, {AD}, 303),
    ("GET", "/admin/tokens", None, {AD}, 200),
    ("POST", "/admin/tokens", {"name": "a test system", "role": "monitor"}, {AD}, 200),
    ("POST", "/admin/tokens/revoke", {"name": "a test system"}, {AD}, 303),
    ("GET", "/admin/audit", None, {AD}, 200),
    ("GET", "/admin/audit.csv?what=viewed+household", None, {AD}, 200),
]


def _call(browser, method, path, form, world):
    path = path.format(own=world.own)
    return browser.get(path) if method == "GET" else browser.post(path, form)


def test_every_role_gets_exactly_the_routes_it_may(as_role, in_world):
    answers = {}
    for role in ROLES:
        browser = as_role(role)
        for method, path, form, allowed, ok in ROUTES:
            response = _call(browser, method, path, form, in_world)
            expected = ok if role in allowed else 403
            answers[(role, method, path)] = (response.status_code, expected)
            if expected == 303 == response.status_code:
                assert "/sign-in" not in response.headers["location"]
    wrong = {k: v for k, v in answers.items() if v[0] != v[1]}
    assert not wrong, f"(got, expected) per (role, method, path): {wrong}"


def test_signed_out_people_are_sent_to_sign_in_from_every_route(browser, in_world):
    browser.get("/sign-in")  # a session with a CSRF token, but nobody signed in
    for method, path, form, _, _ in ROUTES:
        response = _call(browser, method, path, form, in_world)
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"].startswith("/sign-in"), (method, path)
    assert browser.get("/list?band=high").headers["location"] == "/sign-in?next=/list%3Fband%3Dhigh"


def test_each_role_starts_on_its_own_page(as_role):
    starts = {CW: "/list", TM: "/list", AN: "/performance", EB: "/models", AD: "/admin/users"}
    for role, start in starts.items():
        assert as_role(role).get("/").headers["location"] == start


def test_a_signed_in_person_at_the_sign_in_page_goes_on_to_their_start_page(as_role):
    analyst = as_role(AN)
    assert analyst.get("/sign-in").headers["location"] == "/performance"
    assert analyst.get("/sign-in?next=/models").headers["location"] == "/models"


def test_signing_in_never_lands_on_a_page_the_role_may_not_open(as_role):
    assert as_role(AN).get("/sign-in?next=/list%3Fband%3Dhigh").headers["location"] == "/performance"
    assert as_role(CW).get("/sign-in?next=/admin/audit").headers["location"] == "/list"
    assert as_role(CW).get("/sign-in?next=/nowhere").headers["location"] == "/list"
    assert as_role(AD).get("/sign-in?next=/admin/audit%3Fwho%3Dcasey").headers["location"] == "/admin/audit?who=casey"


@pytest.mark.parametrize("role", [CW, TM, AN, EB, AD])
def test_households_outside_the_wards_are_refused_and_the_refusal_audited(as_role, in_world, role):
    from serving.dashboard import audit

    response = as_role(role).get(f"/households/{in_world.other}?purpose=priority-list")
    assert response.status_code == 403
    assert "You do not have access" in response.text
    refused = audit.search(who=f"{role}-one", what="refused household", household=in_world.other)
    assert refused


def test_the_list_shows_only_the_wards_of_the_caseworker(as_role, in_world):
    page = as_role(CW).get("/list?band=very_high").text
    assert f"/households/{in_world.own}?" in page
    assert f"/households/{in_world.other}?" not in page


def test_a_made_up_household_reference_is_not_found_and_the_try_audited(as_role):
    from serving.dashboard import audit

    response = as_role(CW).get("/households/0123456789abcdef0123?purpose=priority-list")
    assert response.status_code == 404 and "Household not found" in response.text
    assert audit.search(who="caseworker-one", what="refused household", household="0123456789abcdef0123")


def test_the_banner_says_demo_only_for_a_synthetic_borough(as_role, in_world, monkeypatch):
    from features.build import synthetic_matrix
    from serving.dashboard import households

    assert synthetic_matrix(in_world.matrix)  # the build knows its extracts were the generator's
    caseworker = as_role(CW)
    assert "Synthetic borough: no real household is shown" in caseworker.get("/list").text
    monkeypatch.setattr(households, "_synthetic", lambda path, modified: False)  # a council's own extracts
    page = caseworker.get("/list").text
    assert "Synthetic borough" not in page
    assert "Real households' information: view only what your work needs" in page
