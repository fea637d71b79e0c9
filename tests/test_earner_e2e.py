"""End to end, as an earner uses it: the app (`python app.py`) in a subprocess, headless Chromium driven by Playwright.

An earner signs in (they see their own work, never the queue), starts a submission for a small credential, writes
Part 1 (a live word count) and uploads Part 3, adds a generated 5-page PDF as an artifact (and adds and removes
another), points EO1.1 to a place
picked in it and types `p. 7` for EO1.2; the self-check flags that pointer, the earner fixes it by ticking a page
in the picker, the self-check passes, they download the .zip and submit. The lead sees the submission in the
queue, pre-screened, and assigns two assessors; the assessor's views of it never show the earner's name or
e-mail (which the PDF also holds). Once both assessors score EO1.2 `not yet`, the earner reads the feedback per
detail (never who assessed) and starts attempt 2 with EO1.2 marked. Screenshots of each earner screen go to
test-output/screenshots/ and the test's tmp dir.

Real components throughout: the embedding model screens the bundle for the self-check and on submit.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.app_server import ROOT, app_env, run_cli, running_app
from tests.earner_kit import EXPLAIN, MENTORING, OVERVIEW, REFLECTION, write_rubric
from tests.factories import make_pdf
from tests.test_ui_e2e import BROWSER_FLAGS, CHROMIUM, SCREENSHOTS, Person, password

EARNER = {"name": "Erin Okafor", "email": "erin.okafor@example.org"}
PAGES = [f"Prepared by {EARNER['name']} ({EARNER['email']}).\n{MENTORING}",
         "Lunch menu for October: soup, pasta, tacos.",
         "Bus budget 2025-26 published to families: route 1 costs $41,000 and route 2 costs $38,500.",
         "Field trip permission slips.", "Staff parking map."]
FEEDBACK = "Publish the bus budget itself, with a line for each route, and show where families read it."
SCREEN_TIMEOUT_MS = 240_000  # the first screen loads the embedding model
MAKE_EARNER = ("from prescreen.review.workflow import ReviewService; from prescreen.settings import Settings; "
               "ReviewService.from_settings(Settings()).create_user('erin', sys.argv[1], 'earner', 'Erin')")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium (apt install chromium)"),
]


@pytest.fixture
def app_url(tmp_path: Path):
    env = app_env(tmp_path / "data", PRESCREEN_RUBRICS_DIR=str(write_rubric(tmp_path / "rubrics")))
    for user, role in (("lead", "lead"), ("ana", "assessor"), ("ben", "assessor")):
        done = run_cli(env, "users", "add", user, "--role", role, "--display-name", user.title(), "--password-stdin",
                       stdin=password(user) + "\n")
        assert done.returncode == 0, done.stderr
    made = subprocess.run([sys.executable, "-c", "import sys; " + MAKE_EARNER, password("erin")], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    with running_app(env, tmp_path / "app.log") as url:
        yield url


@pytest.fixture
def browser():
    with sync_playwright() as pw:
        yield pw.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_FLAGS)


class Earner(Person):
    """The earner: signs in to their own work; moves between its pages."""

    def sign_in(self, screenshot: str | None = None) -> None:
        page = self.page
        page.get_by_label("username").fill(self.user)
        page.get_by_label("password").fill(password(self.user))
        page.get_by_role("button", name="Login").click()
        expect(page.locator("#whoami")).to_contain_text("signed in as Erin (earner)", timeout=90_000)
        self.sees("earner-drafts", "You have no submissions yet")
        self.screenshot("earner-submissions")
        expect(page.get_by_role("tab", name="Queue")).to_have_count(0)
        expect(page.get_by_role("tab", name="Lead")).to_have_count(0)

    def goto(self, page_name: str) -> None:
        self.page.get_by_role("tab", name=page_name, exact=True).click()

    def upload(self, elem_id: str, path: Path) -> None:
        self.page.locator(f"#{elem_id} input[type=file]").set_input_files(str(path))
        self.sees(elem_id, path.name)

    def tick(self, place: str) -> None:
        self.page.locator("#earner-places label").filter(has_text=f"{place} · ").click()

    def self_check(self) -> None:
        self.goto("Self-check")
        self.page.locator("#earner-run-check").click()
        self.sees("earner-selfcheck", "PRE-CHECK, NOT AN ASSESSMENT", timeout=SCREEN_TIMEOUT_MS)


def builds_a_draft(erin: Earner, roster: Path, files: Path) -> None:
    erin.choose("earner-credential", "Tiny Mentoring Credential")
    erin.page.locator("#earner-start").click()
    erin.sees("earner-message", "Started draft #1")
    erin.sees("earner-part-0-title", "Part 1, Overview · at least 40 words")
    erin.page.get_by_text("About you (never shown to assessors)").click()
    erin.fill("earner-name", EARNER["name"])
    erin.fill("earner-email", EARNER["email"])
    erin.fill("earner-part-0-text", "Our school built an advisory.")
    erin.sees("earner-part-0-words", "5 of 40 words: 35 to go.")
    erin.fill("earner-part-0-text", OVERVIEW)
    erin.sees("earner-part-0-words", "of 40 words: enough.")
    (files / "reflection.md").write_text(REFLECTION, encoding="utf-8")
    erin.upload("earner-part-1-file", files / "reflection.md")  # Part 3 uploaded as a file
    erin.page.locator("#earner-save").click()
    erin.sees("earner-message", "Draft saved.")
    erin.sees("earner-part-1-title", "Uploaded as reflection.md")
    erin.fill("earner-artifact-title", "Advisory roster")
    erin.upload("earner-artifact-file", roster)
    erin.page.locator("#earner-add-artifact").click()
    erin.sees("earner-message", "Added A1: roster.pdf.")
    (files / "menu.md").write_text("Lunch menu for October.", encoding="utf-8")
    erin.upload("earner-artifact-file", files / "menu.md")
    erin.page.locator("#earner-add-artifact").click()
    erin.sees("earner-message", "Added A2: menu.md.")
    erin.choose("earner-remove-pick", "A2: menu")
    erin.page.locator("#earner-remove-artifact").click()
    erin.sees("earner-message", "Removed A2")
    expect(erin.page.locator("#earner-artifacts")).not_to_contain_text("menu.md")
    erin.sees("earner-artifacts", "Advisory roster")


def points_to_evidence(erin: Earner) -> None:
    erin.sees("earner-detail-text", "EO1.1")
    erin.sees("earner-places-note", "roster.pdf as prescreen reads it: its pages")
    erin.sees("earner-places", "p. 5 · Staff parking map.")
    erin.tick("p. 1")
    expect(erin.page.locator("#earner-pointer textarea, #earner-pointer input").first).to_have_value("p. 1")
    erin.fill("earner-explanation", EXPLAIN)
    erin.page.locator("#earner-save-detail").click()
    erin.sees("earner-message", "Saved EO1.1.")
    erin.choose("earner-detail", "EO1.2")
    erin.sees("earner-detail-text", "Publishes the school bus budget")
    erin.fill("earner-pointer", "p. 7")
    erin.fill("earner-explanation", "The bus budget page shows each route's cost, as published to families.")
    erin.page.locator("#earner-save-detail").click()
    erin.sees("earner-message", "Saved EO1.2.")
    erin.sees("earner-entries", "A1 p. 7")
    erin.screenshot("earner-build")


def fixes_the_flagged_pointer(erin: Earner) -> None:
    erin.self_check()
    erin.sees("earner-selfcheck", "Your pointer p. 7: this file has 5 pages.")
    erin.sees("earner-selfcheck", "1 to fix before you submit")
    text = erin.page.locator("#earner-selfcheck").inner_text().lower()
    assert not [word for word in ("confidence", "readiness", "evidenced", "demonstrated", "likely") if word in text]
    erin.screenshot("earner-selfcheck-flagged")
    erin.goto("Build")
    erin.choose("earner-detail", "EO1.2")
    erin.sees("earner-places", "p. 3 · Bus budget 2025-26")
    erin.tick("p. 3")
    expect(erin.page.locator("#earner-pointer textarea, #earner-pointer input").first).to_have_value("p. 3")
    erin.page.locator("#earner-save-detail").click()
    erin.sees("earner-entries", "A1 p. 3")
    erin.self_check()
    erin.sees("earner-selfcheck", "Nothing must be fixed before you submit.")
    erin.screenshot("earner-selfcheck-passed")


def downloads_and_submits(erin: Earner) -> str:
    erin.goto("Submit")
    erin.page.locator("#earner-download").click()
    link = erin.page.locator("#earner-zip-link")
    expect(link).to_contain_text("-attempt-1.zip")
    assert link.get_attribute("href").startswith("data:application/zip;base64,")
    erin.screenshot("earner-submit")
    erin.page.locator("#earner-submit").click()
    erin.sees("earner-message", "Submitted as S-", timeout=SCREEN_TIMEOUT_MS)
    erin.sees("earner-standing", "submitted: waiting for assessors")
    erin.sees("earner-drafts", "submitted")
    erin.screenshot("earner-results")
    return re.search(r"Submitted as (S-[\w-]+)", erin.page.locator("#earner-message").inner_text()).group(1)


def lead_assigns(lead: Person, code: str) -> None:
    lead.sees("queue-table", f"{code} · attempt 1")
    lead.sees("queue-table", "complete")  # the pre-check passed: pre-screened on submit
    lead.screenshot("earner-submission-in-the-queue")
    lead.page.locator("#queue-table").get_by_text(f"{code} · attempt 1").filter(visible=True).first.click()
    lead.sees("lead-summary", "tiny-mentoring")
    lead.choose("lead-first", "(ana)")
    lead.choose("lead-second", "(ben)")
    lead.page.locator("#lead-assign-button").click()
    lead.sees("lead-message", "Assigned to ana and ben")


def assessors_settle_on_not_yet(code: str) -> None:
    """ana and ben score it (through the service, on the app's database): EO1.1 demonstrated, EO1.2 not yet."""
    from prescreen.review.workflow import ReviewService
    from prescreen.settings import Settings

    service = ReviewService.from_settings(Settings())
    [item] = [i for i in service.queue("lead") if i.label.startswith(code)]
    for assessor in ("ana", "ben"):
        for detail, score in (("EO1.1", "demonstrated"), ("EO1.2", "not_yet")):
            service.save_detail(assessor, item.submission, detail, action="confirm", score=score,
                                feedback=FEEDBACK if score == "not_yet" else "")
        service.submit(assessor, item.submission, "not_yet")


def reads_the_feedback_and_starts_attempt_2(erin: Earner) -> None:
    erin.page.reload()
    erin.sees("earner-drafts", "not yet earned")
    erin.choose("earner-draft", "#1")  # choosing opens it
    erin.sees("earner-header", "attempt 1")
    erin.goto("Results")
    erin.sees("earner-standing", "not yet earned")
    erin.sees("earner-standing", FEEDBACK)
    shown = erin.page.locator("#earner-standing").inner_text()
    assert not re.search(r"\b(ana|ben|Ana|Ben|lead)\b", shown), f"the earner was shown who assessed: {shown}"
    erin.screenshot("earner-feedback")
    erin.page.locator("#earner-next").click()
    erin.sees("earner-message", "Attempt 2 started from attempt 1")
    erin.sees("earner-header", "Judged not yet on attempt 1: EO1.2")
    erin.sees("earner-entries", "revisit")
    erin.screenshot("earner-attempt-2")


def test_an_earner_builds_checks_fixes_and_submits_and_assessors_never_see_who(app_url, browser, tmp_path):
    shots = [SCREENSHOTS, tmp_path / "screenshots"]
    roster = make_pdf(tmp_path / "files" / "roster.pdf", PAGES)
    erin = Earner(browser, app_url, "erin", shots)
    erin.sign_in()
    builds_a_draft(erin, roster, roster.parent)
    points_to_evidence(erin)
    fixes_the_flagged_pointer(erin)
    code = downloads_and_submits(erin)

    lead = Person(browser, app_url, "lead", shots)
    lead.sign_in()
    lead_assigns(lead, code)

    ana = Person(browser, app_url, "ana", shots)
    ana.sign_in()
    ana.page.locator("#queue-table").get_by_text(f"{code} · attempt 1").filter(visible=True).first.click()
    ana.sees("review-header", f"{code} · attempt 1")
    ana.sees("review-detail-panel", "Cited passages")
    ana.look()
    assert any("Advisory roster" in html for html in ana.seen), "the assessor saw the earner's artifact"
    for term in (EARNER["name"], "Okafor", EARNER["email"]):
        assert not any(term in html for html in ana.seen), f"the assessor was shown the earner's identity ({term})"

    assessors_settle_on_not_yet(code)
    reads_the_feedback_and_starts_attempt_2(erin)
