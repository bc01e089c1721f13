"""As people use it: Debian's Chromium (headless, through Playwright) against the real BentoML server with
the dashboard mounted at /ui. Every page visited is screenshotted into the test artifacts and checked
with axe-core (no serious or critical violations); the server's log of the whole session is scanned for
personal data."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.dashboard.conftest import ARTIFACTS, PASSWORD, address_of
from tests.serving.conftest import home_env, start_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
AXE = Path(__file__).parents[2] / "serving" / "dashboard" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def server(world, oidc_provider, tmp_path_factory):
    log = tmp_path_factory.mktemp("dashboard-server") / "server.log"
    # access log on (the strictest case for the personal-data scan), written to disk at once
    env = home_env(world.home, UPSTREAM_ACCESS_LOG="1", PYTHONUNBUFFERED="1", UPSTREAM_GAZETTEER=str(world.borough),
                   **oidc_provider.env)  # single sign-on on, beside the local accounts
    server = start_server(env, world.matrix, log)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Person:
    """One browser context (its own cookies) that screenshots and axe-checks every page it is shown."""

    console: list[str] = []  # every browser console line of the session, for the personal-data scan

    def __init__(self, chromium, server):
        self.chromium = chromium
        self.context = chromium.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.on("console", lambda message: Person.console.append(message.text))
        self.url = server.url + "/ui"

    def open(self, path: str):
        self.page.goto(self.url + path)
        return self.page

    def sign_in(self, name: str, password: str = PASSWORD):
        if "/ui/sign-in" not in self.page.url:  # else stay: the page may carry where they were going
            self.open("/sign-in")
        self.page.fill("#name", name)
        self.page.fill("#password", password)
        self.page.click("button:has-text('Sign in')")
        return self.page

    def check(self, name: str):
        """Screenshot the page as it is now and fail on serious or critical accessibility problems."""
        check_page(self.page, name)

    def check_report(self, path: str, name: str):
        """The report the board reads in the page's frame, opened on its own and checked the same way. Its policy
        sandboxes it (no script of its own may run), so this one context lets axe-core past the policy."""
        context = self.chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        try:
            context.add_cookies(self.context.cookies())
            page = context.new_page()
            assert page.goto(self.url + path).ok
            check_page(page, name)
        finally:
            context.close()

    def close(self):
        self.context.close()


def check_page(page, name: str):
    """Screenshot PAGE and fail on serious or critical accessibility problems (axe-core's results are saved)."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.evaluate(AXE.read_text())
    violations = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations'], iframes: false});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    (ARTIFACTS / f"{name}.axe.json").write_text(json.dumps(violations, indent=1))
    assert not serious, f"{name}: {serious}"


@pytest.fixture
def person(chromium, server):
    made = []

    def make() -> Person:
        made.append(Person(chromium, server))
        return made[-1]
    yield make
    for p in made:
        p.close()


def test_signed_out_people_are_sent_to_sign_in_and_a_wrong_password_is_refused(person):
    visitor = person()
    page = visitor.open("/list?band=very_high")
    assert "/ui/sign-in?next=" in page.url
    visitor.check("01-sign-in")
    visitor.sign_in("caseworker-one", "not my password")
    assert page.locator(".govuk-error-summary").is_visible()
    assert "Enter a correct user name and password" in page.inner_text(".govuk-error-summary")
    visitor.check("02-sign-in-wrong-password")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    assert page.url.endswith("/ui/list?band=very_high")  # back where they were going


def test_a_caseworker_filters_the_list_opens_a_household_and_records_an_action(person, in_world):
    from serving.dashboard import audit

    caseworker = person()
    page = caseworker.sign_in("caseworker-one")
    assert page.url.endswith("/ui/list")
    assert "You can reach" in page.inner_text(".govuk-inset-text")
    caseworker.check("03-priority-list")
    page.select_option("#band", "very_high")
    page.click("button:has-text('Apply filters')")
    assert "band=very_high" in page.url
    bands = page.locator("table tbody tr td:nth-child(4)").all_inner_texts()
    assert bands and set(bands) == {"Very high"}
    page.click("th a:has-text('Ward')")  # sorts the whole list on the server, not the page in view
    assert "sort=ward" in page.url and "band=very_high" in page.url
    assert page.get_attribute("th:has-text('Ward')", "aria-sort") == "ascending"
    wards = page.locator("table tbody tr td:nth-child(3)").all_inner_texts()
    bands = page.locator("table tbody tr td:nth-child(4)").all_inner_texts()
    assert wards == sorted(wards) and set(bands) == {"Very high"}
    caseworker.check("04-priority-list-filtered")
    page.click("th a:has-text('Rank')")
    assert "sort=" not in page.url and page.get_attribute("th:has-text('Rank')", "aria-sort") == "ascending"

    page.click(f"a[href*='/households/{in_world.own}']")
    assert page.inner_text("h1").lower() == address_of(in_world, in_world.own_uprn).lower()  # from the gazetteer
    assert str(in_world.own_uprn) in page.inner_text(".app-household-ids")
    assert page.locator("svg.app-trend polyline").count() == 2
    assert "never replaces, your professional judgement" in page.inner_text(".govuk-warning-text")
    caseworker.check("05-household")
    assert audit.search(what="viewed household", household=in_world.own, who="caseworker-one")

    # conditional reveals: each answer shows only the question it needs
    questions = ("#referred_to", "#reason", "#outcome", "#disagreement")
    assert not any(page.is_visible(q) for q in questions)
    page.check("#target")
    page.check("#kind-no_action")
    assert page.is_visible("#reason") and not page.is_visible("#referred_to")
    assert page.get_attribute("#kind-no_action", "aria-controls") == "conditional-kind-no_action"
    caseworker.check("05b-household-no-action-revealed")
    page.check("#kind-outcome")
    assert page.is_visible("#outcome") and not page.is_visible("#reason")
    page.check("#kind-referred")
    assert page.is_visible("#referred_to") and not page.is_visible("#outcome")
    page.select_option("#referred_to", "money-advice-hub")
    page.check("#agrees")
    assert not page.is_visible("#disagreement")
    page.check("#agrees-no")
    assert page.is_visible("#disagreement")
    page.fill("#disagreement", "Arrears are from a benefit delay that is now fixed")
    caseworker.check("05c-household-referral-and-disagreement-revealed")
    page.click("button:has-text('Record action')")
    assert page.locator(".govuk-notification-banner--success").is_visible()
    timeline = page.inner_text(".moj-timeline")
    assert "Referred: Money advice hub" in timeline and "benefit delay that is now fixed" in timeline
    caseworker.check("06-household-action-recorded")

    caseworker.open(f"/households/{in_world.own}")
    caseworker.check("07-household-purpose")
    page.click("button:has-text('Continue')")
    assert "Choose why you are opening this household" in page.inner_text(".govuk-error-summary")
    caseworker.check("07b-household-purpose-error")

    caseworker.open(f"/households/{in_world.own}?purpose=follow-up")
    page.check("#target")
    page.check("#agrees-no")
    page.click("button:has-text('Record action')")  # no action chosen, no reason to disagree given
    summary = page.inner_text(".govuk-error-summary")
    assert "Choose what you did" in summary and "Say why you disagree with the score" in summary
    assert page.is_visible("#disagreement")  # the answer given stays, with its question open
    caseworker.check("07c-household-action-errors")

    caseworker.open("/performance")
    assert "You do not have access to this page" in page.inner_text("h1")
    caseworker.check("08-caseworker-refused-analyst-page")
    page.click("button:has-text('Sign out')")
    assert "/ui/sign-in" in page.url
    caseworker.open("/list")
    assert "/ui/sign-in" in page.url


def test_without_javascript_every_question_shows_and_the_server_asks_for_what_is_missing(chromium, server,
                                                                                          in_world):
    from serving.dashboard import actions

    context = chromium.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/ui/sign-in")
        page.fill("#name", "caseworker-one")
        page.fill("#password", PASSWORD)
        page.click("button:has-text('Sign in')")
        page.goto(f"{server.url}/ui/households/{in_world.own}?purpose=follow-up")
        for question in ("#referred_to", "#reason", "#outcome", "#disagreement"):
            assert page.is_visible(question), question  # nothing is hidden without the script
        before = len(actions.timeline(in_world.own))
        page.check("#target")
        page.check("#kind-referred")
        page.check("#agrees")
        page.click("button:has-text('Record action')")
        assert "Choose the service you referred them to" in page.inner_text(".govuk-error-summary")
        page.screenshot(path=str(ARTIFACTS / "07d-household-no-javascript-error.png"), full_page=True)
        page.select_option("#referred_to", "housing-options")
        page.fill("#reason", "typed before changing my mind")  # a question for another answer: not stored
        page.click("button:has-text('Record action')")
        assert page.locator(".govuk-notification-banner--success").is_visible()
        latest = actions.timeline(in_world.own)[0]
        assert len(actions.timeline(in_world.own)) == before + 1
        assert (latest["kind"], latest["detail"], latest["disagrees"]) == ("referred", "Housing options team", False)
    finally:
        context.close()


def test_a_team_manager_sees_the_team(person):
    manager = person()
    page = manager.sign_in("team-manager-one")
    manager.open("/team")
    assert "caseworker-one" in page.inner_text("table")
    manager.check("09-team")


def test_the_ethics_board_reads_a_report_and_approves_a_version(person, in_world):
    from mlflow import MlflowClient

    from ethics.approval import latest_decision
    from models import tracking

    board = person()
    page = board.sign_in("ethics-board-one")
    assert page.url.endswith("/ui/models")
    board.check("10-model-versions")
    board.open("/models/homelessness-risk/1")
    assert "Model card" in page.inner_text(".govuk-tabs") and page.locator("#model-card").is_visible()
    board.check("10b-model-card")
    page.click("a.govuk-tabs__tab:has-text('ATRS record')")
    assert page.locator("#atrs").is_visible() and "Tier 1" in page.inner_text("#atrs")
    board.check("11-model-card-and-atrs")
    page.click("a.govuk-tabs__tab:has-text('Full report')")
    assert page.locator("iframe.app-report-frame").is_visible()
    board.check("12-full-report")
    board.check_report("/models/homelessness-risk/1/report.html", "12b-report-itself")

    name, version = in_world.pending
    board.open(f"/models/{name}/{version}")
    page.check("#decision")
    page.fill("#note", "Read the report at the November meeting; approved for a three-month pilot")
    page.click("button:has-text('Record decision')")
    assert page.locator(".govuk-notification-banner--success").is_visible()
    board.check("13-version-approved")
    board.open("/models/fuel-poverty-risk/1")
    board.check("13b-fuel-poverty-version")
    board.open("/models/homelessness-risk/99")
    assert "Model version not found" in page.inner_text("h1")
    board.check("13c-version-not-found")
    decision = latest_decision(name, version)
    assert decision.decision == "approve" and decision.decided_by == "ethics-board-one" and not decision.demo
    tracking.configure()
    assert str(MlflowClient().get_model_version_by_alias(name, "champion").version) == version


def test_analysts_and_admins_see_their_pages(person):
    analyst = person()
    page = analyst.sign_in("analyst-one")
    assert page.url.endswith("/ui/performance")
    assert "Precision at capacity" in page.inner_text("main") and page.locator("a:has-text('MLflow')").count()
    analyst.check("14-performance")
    admin = person()
    page = admin.sign_in("admin-one")
    admin.check("15-admin-users")
    admin.open("/admin/tokens")
    admin.check("16-admin-tokens")
    admin.open("/admin/audit?what=viewed+household")
    admin.check("17-audit-log")


def _council_sign_in(visitor: "Person", provider, user: str, start: str = "/list"):
    """Sign in at the test provider's own page, as a person would after pressing the start button."""
    page = visitor.open(start)
    assert "/ui/sign-in" in page.url
    page.click("a:has-text('Sign in with your council account')")
    assert page.url.startswith(f"{provider.issuer}/authorize?")
    page.fill("#user", user)
    page.click("button:has-text('Sign in')")
    return page


def test_a_caseworker_signs_in_with_the_council_account(person, oidc_provider, in_world):
    visitor = person()
    visitor.open("/sign-in")
    visitor.check("18-sign-in-with-single-sign-on")
    page = _council_sign_in(visitor, oidc_provider, "casey", start="/list?band=very_high")
    assert page.url.endswith("/ui/list?band=very_high")  # where she was going, through the provider and back
    assert "casey.worker@council.test" in page.inner_text("header")
    wards = page.locator("#ward option").all_inner_texts()
    assert in_world.wards[0] in wards and in_world.wards[1] not in wards  # the wards claim, and nothing else
    assert set(page.locator("table tbody tr td:nth-child(3)").all_inner_texts()) == {in_world.wards[0]}
    visitor.check("19-single-sign-on-priority-list")
    page.click("button:has-text('Sign out')")
    assert "/ui/sign-in" in page.url


def test_the_board_lands_on_its_page_and_an_unknown_role_is_refused(person, oidc_provider):
    board = person()
    page = _council_sign_in(board, oidc_provider, "board", start="/")
    assert page.url.endswith("/ui/models") and "board.member@council.test" in page.inner_text("header")
    stranger = person()
    page = _council_sign_in(stranger, oidc_provider, "finance")
    assert "You have not been signed in" in page.inner_text("h1")
    assert "has no Upstream role" in page.inner_text("main")
    stranger.check("20-single-sign-on-refused")
    stranger.open("/list")
    assert "/ui/sign-in" in page.url


def test_pages_that_are_not_there_say_so(person):
    visitor = person()
    visitor.sign_in("admin-one")
    page = visitor.open("/no-such-page")
    assert "Page not found" in page.inner_text("h1")
    visitor.check("21-page-not-found")


def _personal_data(borough: Path, matrix: Path) -> dict[str, set[str]]:
    extracts = borough / "extracts"
    people = pd.concat([pd.read_csv(extracts / "rent" / "tenants.csv", usecols=["first_name", "last_name"]),
                        pd.read_csv(extracts / "benefits" / "members.csv", usecols=["first_name", "last_name"])])
    gazetteer = pd.read_csv(extracts / "llpg" / "gazetteer.csv", usecols=["uprn", "address", "street"])
    keys = pd.read_parquet(matrix.with_name(matrix.stem + ".keys.parquet"), columns=["uprn"])
    return {"names": set((people["first_name"] + " " + people["last_name"]).str.lower()),
            "addresses": set(gazetteer["address"].str.lower()),
            "uprns": set(gazetteer["uprn"].astype(str)) | set(keys["uprn"].dropna().astype("int64").astype(str))}


def test_the_logs_of_the_session_hold_no_personal_data(person, server, in_world):
    visitor = person()  # this test's own visits, so the scan is never of an empty session
    before = len(server.output())
    page = visitor.sign_in("caseworker-one")
    page.click(f"a[href*='/households/{in_world.own}']")
    address = address_of(in_world, in_world.own_uprn)
    assert page.inner_text("h1").lower() == address.lower()  # the page shows the address and UPRN; the logs must not
    assert str(in_world.own_uprn) in page.inner_text(".app-household-ids")
    visitor.open("/list?target=fuel_poverty&band=high")
    deadline = time.monotonic() + 15
    while "path=/ui/households/" not in server.output()[before:] and time.monotonic() < deadline:
        time.sleep(0.2)  # the access log line may land a moment after the answer
    logs = server.output() + "\n".join(Person.console)
    assert "path=/ui/households/" in logs[before:]  # the access log saw this session
    lowered = logs.lower()
    found = _personal_data(in_world.borough, in_world.matrix)
    numbers = set(re.findall(r"\d{6,12}", logs))
    assert not numbers & found["uprns"], "UPRNs in the logs"
    assert not [n for n in found["names"] if n in lowered], "names in the logs"
    assert address.lower() in found["addresses"]  # the scan looks for the very address the page showed
    assert not [a for a in found["addresses"] if a in lowered], "addresses in the logs"
    streets = {a.split(", ")[0] for a in found["addresses"]}  # "12 ash road", without town and postcode
    assert not [a for a in streets if a in lowered], "addresses in the logs"
