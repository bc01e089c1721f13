"""Audit rows for every household view, list export and recorded action; the log cannot be rewritten; actions
land in the timeline; disagreeing needs a reason."""
from __future__ import annotations

import csv
import html
import io

import pytest
import sqlalchemy as sa


def test_viewing_a_household_asks_why_then_writes_who_when_which_what_and_purpose(as_role, in_world):
    from serving.dashboard import audit

    browser = as_role("caseworker")
    ask = browser.get(f"/households/{in_world.own}")
    assert ask.status_code == 200 and "Why are you opening this household?" in ask.text
    assert not audit.search(what="viewed household", household=in_world.own, who="caseworker-one")
    page = browser.get(f"/households/{in_world.own}?purpose=referral")
    assert page.status_code == 200 and f"<dd class=\"govuk-summary-list__value\">{in_world.own_uprn}</dd>" in page.text
    row = audit.search(what="viewed household", household=in_world.own, who="caseworker-one")[0]
    assert row["role"] == "caseworker" and row["purpose"] == "Preparing or checking a referral" and row["at"]
    assert str(in_world.own_uprn) not in " ".join(str(v) for v in row.values())


def test_the_household_page_shows_the_address_from_the_gazetteer_but_never_audits_it(as_role, in_world, monkeypatch):
    from serving.dashboard import audit
    from serving.dashboard.gazetteer import readable
    from tests.dashboard.conftest import address_of

    address = address_of(in_world, in_world.own_uprn)
    browser = as_role("caseworker")
    asked = browser.get(f"/households/{in_world.own}").text
    assert readable(address) not in html.unescape(asked)  # not before the purpose is stated
    page = html.unescape(browser.get(f"/households/{in_world.own}?purpose=query").text)
    assert f'<h1 class="govuk-heading-l">{readable(address)}</h1>' in page  # as people write it, postcode in capitals
    rows = audit.search(household=in_world.own)
    assert rows[0]["what"] == "viewed household"
    assert not [r for r in rows if address.lower() in " ".join(str(v) for v in r.values()).lower()]
    monkeypatch.setenv("UPSTREAM_GAZETTEER", str(in_world.home / "no-such-extract"))
    page = browser.get(f"/households/{in_world.own}?purpose=query").text
    assert readable(address) not in html.unescape(page) and "The address is not shown" in page


def test_the_household_page_says_what_the_scores_mean_and_that_they_support_judgement(as_role, in_world):
    page = as_role("caseworker").get(f"/households/{in_world.own}?purpose=priority-list").text
    assert "The score supports, and never replaces, your professional judgement" in page
    assert "Homelessness" in page and "Fuel poverty" in page
    assert "in 100 households with records like these" in page
    assert "<svg class=\"app-trend\"" in page and page.count("<polyline") == 2  # a line per target
    for month in in_world.months:
        assert month.strftime("%B %Y") in page  # the trend table holds every scored month
    assert "Main reasons" in page and "Key facts" in page


def test_exporting_the_list_needs_a_purpose_and_is_audited(as_role, in_world):
    from serving.dashboard import audit

    browser = as_role("caseworker")
    refused = browser.post("/list/export", {"target": "homelessness", "band": "very_high"})
    assert refused.status_code == 400 and "Choose why you need a copy" in refused.text
    browser.get("/list")
    response = browser.post("/list/export", {"target": "homelessness", "band": "very_high", "purpose": "team-meeting"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows and {r["band"] for r in rows} == {"very_high"}
    row = audit.search(what="exported list", who="caseworker-one")[0]
    assert row["purpose"] == "A team allocation meeting" and f"{len(rows)} rows" in row["detail"]


def test_a_recorded_action_is_audited_and_appears_in_the_timeline(as_role, in_world):
    from serving.dashboard import actions, audit

    browser = as_role("caseworker")
    browser.get(f"/households/{in_world.own}?purpose=priority-list")
    response = browser.post(f"/households/{in_world.own}/actions", {
        "target": "fuel_poverty", "kind": "referred", "referred_to": "fuel-poverty-scheme", "agrees": "no",
        "disagreement": "The boiler was replaced last month", "note": "Agreed to a home energy visit"})
    assert response.status_code == 303
    page = browser.get(response.headers["location"]).text
    assert "Referred: Fuel-poverty scheme" in page and "The boiler was replaced last month" in page
    assert actions.timeline(in_world.own)[0]["disagrees"] is True
    assert audit.search(what="recorded action", household=in_world.own, who="caseworker-one")
    assert any(o["disagreements"] for o in actions.summary() if o["target"] == "fuel_poverty")


@pytest.mark.parametrize("form, error", [
    ({"target": "homelessness", "kind": "no_action", "agrees": "yes"}, "Say why you took no action"),
    ({"target": "homelessness", "kind": "contacted", "agrees": "no"}, "Say why you disagree with the score"),
    ({"kind": "contacted", "agrees": "yes"}, "Choose which risk this action is about"),
])
def test_incomplete_actions_are_refused_with_the_reason(as_role, in_world, form, error):
    from serving.dashboard import actions

    browser = as_role("caseworker")
    browser.get(f"/households/{in_world.own}?purpose=priority-list")
    before = len(actions.timeline(in_world.own))
    response = browser.post(f"/households/{in_world.own}/actions", form)
    assert response.status_code == 400 and error in response.text and "There is a problem" in response.text
    assert len(actions.timeline(in_world.own)) == before


def test_the_audit_log_and_actions_cannot_be_changed_or_deleted(in_world):
    from serving.dashboard import actions, audit
    from serving.dashboard.store import engine

    audit.record("someone", "admin", "tested")
    actions.record(in_world.other, "someone", "contacted")  # a row in each table: the triggers fire per row
    for table in (audit.audit_log, actions.household_actions):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine().begin() as db:
                db.execute(table.update().values(at=None))
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine().begin() as db:
                db.execute(table.delete())


def test_admins_filter_the_audit_log_and_export_it(as_role, in_world):
    from serving.dashboard import audit

    as_role("caseworker").get(f"/households/{in_world.own}?purpose=query")
    admin = as_role("admin")
    page = admin.get("/admin/audit?what=viewed+household&who=caseworker-one").text
    assert "Answering a query from the household" in page and "signed in</td>" not in page
    exported = admin.get("/admin/audit.csv?what=viewed+household")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and {r["what"] for r in rows} == {"viewed household"}
    assert audit.search(what="exported audit log", who="admin-one")


def test_a_date_that_is_not_one_is_said_so_not_silently_dropped(as_role, in_world):
    admin = as_role("admin")
    page = admin.get("/admin/audit?since=2026-13-45&until=yesterday")
    assert page.status_code == 400
    assert "From must be a date like 2026-03-31" in page.text and "To must be a date like" in page.text
    assert 'value="2026-13-45"' in page.text  # what was typed stays, to be corrected
    backwards = admin.get("/admin/audit?since=2026-03-02&until=2026-03-01")
    assert backwards.status_code == 400 and "To must be the same as or after From" in backwards.text
    assert admin.get("/admin/audit.csv?since=yesterday").status_code == 400


def test_free_text_is_kept_to_a_readable_length_and_cannot_reorder_itself(as_role, in_world):
    from serving.dashboard import actions

    browser = as_role("caseworker")
    browser.get(f"/households/{in_world.own}?purpose=priority-list")
    form = {"target": "homelessness", "kind": "contacted", "agrees": "yes"}
    refused = browser.post(f"/households/{in_world.own}/actions", {**form, "note": "x" * 2_001})
    assert refused.status_code == 400 and "The note must be 2,000 characters or fewer" in refused.text
    done = browser.post(f"/households/{in_world.own}/actions", {**form, "note": "paid \u202eon time\u202c today"})
    assert done.status_code == 303
    assert actions.timeline(in_world.own)[0]["note"] == "paid on time today"


def test_times_are_shown_and_filtered_in_uk_time_and_exported_in_utc(as_role, in_world):
    import datetime as dt

    from serving.dashboard import audit
    from serving.dashboard.store import engine

    summer_night = dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.timezone.utc)  # 00:30 BST on 1 July
    with engine().begin() as db:
        db.execute(audit.audit_log.insert().values(at=summer_night, who="night-owl", role="admin", what="signed in"))
    assert [r["who"] for r in audit.search(who="night-owl", since=dt.date(2026, 7, 1), until=dt.date(2026, 7, 1))
            ] == ["night-owl"]
    assert not audit.search(who="night-owl", until=dt.date(2026, 6, 30))
    admin = as_role("admin")
    assert "01 Jul 2026 00:30:00 BST" in admin.get("/admin/audit?who=night-owl").text
    exported = list(csv.DictReader(io.StringIO(admin.get("/admin/audit.csv?who=night-owl").text)))
    assert [r["at"] for r in exported] == ["2026-06-30T23:30:00+00:00"]
