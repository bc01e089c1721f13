"""Admins manage accounts: errors said beside the field they are about, role and wards changed, a new
password set, and the account of someone who has left disabled (signed out at once, no sign-in after)."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.dashboard.conftest import PASSWORD, Browser


@pytest.fixture
def admin_and_casey():
    """A dashboard on this test's own empty UPSTREAM_HOME: an admin signed in, and a caseworker's account."""
    from serving.dashboard import accounts, create_app

    accounts.add("ada", "admin", PASSWORD)
    casey = accounts.add("casey", "caseworker", PASSWORD, ["Abbey Mead"])
    with TestClient(create_app(), base_url="https://testserver") as a, \
            TestClient(create_app(), base_url="https://testserver") as c:
        admin = Browser(a)
        assert admin.sign_in("ada").status_code == 303
        admin.get(f"/admin/users/{casey.id}")
        yield admin, Browser(c), casey.id


@pytest.mark.parametrize("form, field, message", [
    ({"name": "", "role": "analyst", "password": PASSWORD}, "name", "A user needs a name"),
    ({"name": "ann", "role": "analyst", "password": "short"}, "password", "The password must be at least 10"),
    ({"name": "cal", "role": "caseworker", "password": PASSWORD}, "wards", "A caseworker needs at least one ward"),
    ({"name": "casey", "role": "analyst", "password": PASSWORD}, "name", "There is already a user called"),
])
def test_a_refused_account_says_why_beside_the_field_it_is_about(admin_and_casey, form, field, message):
    admin, _, _ = admin_and_casey
    admin.get("/admin/users")
    page = admin.post("/admin/users", form)
    assert page.status_code == 400
    error = page.text.split(f'id="{field}-error"', 1)[1].split("</p>", 1)[0]
    assert message in error and "--" not in error


def test_a_caseworker_who_has_left_is_signed_out_at_once_and_cannot_sign_in(admin_and_casey):
    from serving.dashboard import accounts, audit

    admin, casey, casey_id = admin_and_casey
    assert casey.sign_in("casey").status_code == 303 and casey.get("/list").status_code == 200
    assert admin.post(f"/admin/users/{casey_id}/disable").status_code == 303
    assert casey.get("/list").status_code == 303  # the session ended with the account
    assert casey.sign_in("casey").status_code == 400
    assert accounts.one(casey_id)["disabled"] and "Disabled" in admin.get("/admin/users").text
    assert audit.search(what="disabled user", who="ada")[0]["detail"] == "casey"
    admin.get(f"/admin/users/{casey_id}")
    assert admin.post(f"/admin/users/{casey_id}/password", {"password": "a new password 2"}).status_code == 303
    assert casey.sign_in("casey", "a new password 2").status_code == 303  # a new password brings it back


def test_admins_change_role_and_wards_but_never_to_a_ward_the_borough_lacks(admin_and_casey, monkeypatch):
    from serving.dashboard import accounts, lists

    admin, casey, casey_id = admin_and_casey
    monkeypatch.setattr(lists, "known_wards", lambda: {"Abbey Mead", "Northbury"})
    casey.sign_in("casey")
    refused = admin.post(f"/admin/users/{casey_id}/access", {"role": "caseworker", "wards": "Abbey Mead, Nothbury"})
    assert refused.status_code == 400 and "No ward is called &#39;Nothbury&#39;" in refused.text
    assert accounts.one(casey_id)["wards"] == ["Abbey Mead"]
    admin.get(f"/admin/users/{casey_id}")
    changed = admin.post(f"/admin/users/{casey_id}/access", {"role": "team-manager", "wards": "Abbey Mead, Northbury"})
    assert changed.status_code == 303
    now = accounts.one(casey_id)
    assert (now["role"], now["wards"]) == ("team-manager", ["Abbey Mead", "Northbury"])
    assert casey.get("/list").status_code == 303  # signs in again under the new role


def test_an_admin_cannot_disable_their_own_account(admin_and_casey):
    from serving.dashboard import accounts

    admin, _, _ = admin_and_casey
    ada = next(u for u in accounts.everyone() if u["name"] == "ada")
    admin.get(f"/admin/users/{ada['id']}")
    refused = admin.post(f"/admin/users/{ada['id']}/disable")
    assert refused.status_code == 400 and "You cannot disable your own account" in refused.text
    assert not accounts.one(ada["id"])["disabled"]


def test_the_command_line_disables_an_account_and_sets_a_new_password(admin_and_casey):
    from serving.dashboard import accounts
    from upstream.cli import app

    _, casey, casey_id = admin_and_casey
    assert CliRunner().invoke(app, ["users", "disable", "casey"]).exit_code == 0
    assert casey.sign_in("casey").status_code == 400
    unknown = CliRunner().invoke(app, ["users", "disable", "nobody"])
    assert unknown.exit_code == 1 and "no dashboard account is called 'nobody'" in unknown.output
    result = CliRunner().invoke(app, ["users", "set-password", "casey", "--password-stdin"], input="another password\n")
    assert result.exit_code == 0, result.output
    assert casey.sign_in("casey", "another password").status_code == 303
    assert not accounts.one(casey_id)["disabled"]


def test_the_command_line_adds_accounts_as_the_page_does_checked_and_audited(as_role, in_world):
    from serving.dashboard import audit
    from upstream.cli import app

    nowhere = CliRunner().invoke(app, ["users", "add", "cw-new", "--role", "caseworker", "--ward", "Nowhere Ward",
                                       "--password-stdin"], input="a-long-password\n")
    assert nowhere.exit_code == 1 and "Nowhere Ward" in nowhere.output
    added = CliRunner().invoke(app, ["users", "add", "cw-new", "--role", "caseworker", "--ward", in_world.wards[0],
                                     "--password-stdin"], input="a-long-password\n")
    assert added.exit_code == 0, added.output
    row = audit.search(what="added user", who=next(r["who"] for r in audit.search(what="added user")
                                                   if r["who"].startswith("upstream users (")))[0]
    assert row["detail"] == "cw-new (caseworker)"


def test_single_sign_on_to_a_disabled_account_is_refused(admin_and_casey):
    from serving.dashboard import accounts

    person = accounts.from_single_sign_on("https://idp.example", "subject-1", "sam", "analyst", ())
    accounts.disable(person.id)
    with pytest.raises(accounts.Disabled):
        accounts.from_single_sign_on("https://idp.example", "subject-1", "sam", "analyst", ())
    assert accounts.one(person.id)["single_sign_on"]


def test_an_admin_revokes_an_api_token_from_the_tokens_page(admin_and_casey):
    from serving import tokens
    from serving.dashboard import audit

    admin, _, _ = admin_and_casey
    token = tokens.create("the housing system", "service")
    admin.get("/admin/tokens")
    assert admin.post("/admin/tokens/revoke", {"name": "the housing system"}).status_code == 303
    assert tokens.holder_of(token) is None and "Revoked" in admin.get("/admin/tokens").text
    assert audit.search(what="revoked API token", who="ada")[0]["detail"] == "the housing system"
    admin.get("/admin/tokens")
    again = admin.post("/admin/tokens/revoke", {"name": "the housing system"})
    assert again.status_code == 400 and "No live API token" in again.text
