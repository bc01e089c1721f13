"""What caseworkers see of the lists: only versions the board approves, who has each household, pages, order."""
from __future__ import annotations

import re

from tests.dashboard.conftest import ROLES

CW, TM, AN, EB, AD = ROLES
WARD_CELL = r'<td class="govuk-table__cell">([A-Z][a-z]+(?: [A-Z][a-z]+)*)</td>'


def _ranks(html: str) -> list[int]:
    return [int(r.replace(",", "")) for r in re.findall(r'<td class="govuk-table__cell">([\d,]+)</td>', html)]


def test_a_version_the_board_rejects_is_withdrawn_from_caseworkers_at_once(as_role, in_world):
    from serving.dashboard import audit, model_versions

    board, caseworker = as_role(EB), as_role(CW)
    champion = next(v for v in ("1", "2") if model_versions.one("homelessness-risk", v).champion)
    assert "Scored by model version 1" in caseworker.get("/list").text
    assert "Rejecting it withdraws its scores" in board.get("/models/homelessness-risk/1").text
    assert "Rejecting it withdraws" not in board.get("/models/homelessness-risk/2").text  # scored no list
    page = board.get("/models/homelessness-risk/1").text
    read = re.search(r'name="report_sha256" value="([0-9a-f]{64})"', page).group(1)
    assert f"{read[:12]} (what a decision is recorded against" in page
    try:
        unread = board.post("/models/homelessness-risk/1/decision", {"decision": "reject", "note": "No report read"})
        assert unread.status_code == 400 and "read the report before deciding" in unread.text
        rejected = board.post("/models/homelessness-risk/1/decision",
                              {"decision": "reject", "note": "A withdrawal, to test it", "report_sha256": read})
        assert rejected.status_code == 303
        assert "caseworkers no longer see this version" in board.get("/models/homelessness-risk/1?decided=1").text
        page = caseworker.get("/list").text
        assert "Homelessness scores from model version 1 are withdrawn" in page
        assert "Scored by model version" not in page and f"/households/{in_world.own}?" not in page
        household = caseworker.get(f"/households/{in_world.own}?purpose=priority-list").text
        assert "Homelessness scores from model version 1 are withdrawn" in household
        assert "Fuel poverty scores from" not in household  # the other model is still approved, and shown
        assert "rejected model" in audit.kinds() and "rejectd model" not in audit.kinds()
    finally:  # the world as it was, champion included
        history = board.get("/models/homelessness-risk/1").text
        assert "Decisions on this version" in history and "A withdrawal, to test it" in history
        assert "overturns the board's rejection of this same report" in history
        for version in dict.fromkeys(("1", champion)):
            page = board.get(f"/models/homelessness-risk/{version}").text
            fingerprint = re.search(r'name="report_sha256" value="([0-9a-f]{64})"', page).group(1)
            restored = board.post(f"/models/homelessness-risk/{version}/decision",
                                  {"decision": "approve", "note": "Restored after a test", "report_sha256": fingerprint,
                                   "overturn": "yes"})
            assert restored.status_code == 303
    assert "Scored by model version 1" in caseworker.get("/list").text


def test_the_list_says_who_each_household_is_allocated_to_and_no_one_else(as_role, in_world):
    manager = as_role(TM)
    manager.get(f"/households/{in_world.own}?purpose=supervision")
    assert manager.post(f"/households/{in_world.own}/allocate", {"allocate_to": "caseworker-one"}).status_code == 303
    page = as_role(CW).get("/list").text
    assert page.count("Allocated to caseworker-one") >= 1
    assert "Allocated to nan" not in page and "Allocated to None" not in page


def test_the_whole_list_is_sorted_and_a_page_past_the_end_shows_the_last(as_role, in_world):
    caseworker = as_role(CW)
    first = caseworker.get("/list").text
    total = int(re.search(r"([\d,]+) households match", first).group(1).replace(",", ""))
    ranks = _ranks(first)
    assert ranks == sorted(ranks)
    last = caseworker.get("/list?page=99999").text
    assert f"showing {(total - 1) // 25 * 25 + 1:,} to {total:,}" in last and 'rel="next"' not in last
    by_ward = caseworker.get("/list?sort=ward").text
    wards = re.findall(WARD_CELL, by_ward)
    assert wards and wards == sorted(wards) and wards[0] == min(in_world.wards)
    tail = caseworker.get("/list?sort=ward&page=99999").text  # across every page: the last holds the last ward
    assert re.findall(WARD_CELL, tail)[-1] == max(in_world.wards)


def test_opening_a_household_from_the_list_and_acting_on_it_is_audited_under_the_purpose_given(as_role, in_world):
    from serving.dashboard import audit

    caseworker = as_role(CW)
    caseworker.get(f"/households/{in_world.own}?purpose=referral")
    response = caseworker.post(f"/households/{in_world.own}/actions",
                               {"target": "homelessness", "kind": "contacted", "agrees": "yes", "purpose": "referral"})
    assert response.status_code == 303 and "purpose=referral" in response.headers["location"]
    recorded = audit.search(what="recorded action", household=in_world.own, who="caseworker-one")[0]
    assert recorded["purpose"] == "Preparing or checking a referral"


def test_score_drift_is_computed_again_when_a_list_is_written():
    import numpy as np
    import pandas as pd

    from serving import risk_lists
    from serving.dashboard import drift

    def a_month(as_of: str, scores):
        return pd.DataFrame({"as_of": pd.Timestamp(as_of), "target": "homelessness", "model_version": "1",
                             "uprn": np.arange(len(scores)) + 10**9, "score": scores, "band": "low",
                             "rank": np.arange(len(scores)) + 1, "reasons": [[]] * len(scores)})

    risk_lists.replace(a_month("2026-01-01", np.linspace(0, 0.5, 1000)))
    assert [row["as_of"].month for row in drift.score_drift("homelessness")] == [1]
    risk_lists.replace(a_month("2026-02-01", np.linspace(0.25, 0.75, 1000)))
    rows = drift.score_drift("homelessness")
    assert [row["as_of"].month for row in rows] == [1, 2] and rows[1]["psi"] > 0.25
    risk_lists.replace(a_month("2026-02-01", np.linspace(0, 0.5, 1000)))  # February scored again, replaced
    rows = drift.score_drift("homelessness")
    assert [row["households"] for row in rows] == [1000, 1000] and rows[1]["psi"] < 0.01
