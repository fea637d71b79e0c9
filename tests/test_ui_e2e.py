"""End to end, as people use it: the app (`python app.py`) in a subprocess, headless Chromium driven by Playwright.

A lead uploads examples/harbor-middle as a zip and assigns two assessors (after a validation error that must
leave the page usable); ana reviews with the mouse (confirms, overrides one finding with a reason, leaves one
detail with Next and finds its choices saved), ben with the keyboard (reads every detail with J, confirms all
read findings at once, scores each with D or N and Ctrl+Enter), both blind (never the earner's name or e-mail,
never the other assessor's feedback); they disagree on one detail, which the lead adjudicates with the evidence
and both assessors' work in view; ana then sees the final result, which is in the database. Screenshots of
the main screens go to test-output/screenshots/ and the test's tmp dir.

Real components throughout: the embedding model screens the bundle when the lead ingests it (about 30 s).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect, sync_playwright

from tests.app_server import ROOT, app_env, run_cli, running_app

CHROMIUM = Path("/usr/bin/chromium")
BUNDLE = ROOT / "examples" / "harbor-middle"
SCREENSHOTS = ROOT / "test-output" / "screenshots"
BROWSER_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
USERS = {"lead": "lead", "ana": "assessor", "ben": "assessor"}
DISPUTED = "EO1.1"              # ana: demonstrated, ben: not yet; the lead settles it
ANA_MARK = "ana-private-7c1f"   # in every piece of ana's feedback: ben must never see it
SCREEN_TIMEOUT_MS = 240_000     # ingest screens the bundle with the real embedding model

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium (apt install chromium)"),
]


def password(user: str) -> str:
    return f"{user}-secret-pass"


# ---------------------------------------------------------------- the app, as a subprocess


@pytest.fixture
def app_url(tmp_path: Path):
    env = app_env(Path(os.environ["PRESCREEN_DATA_DIR"]))  # the folder this test's own service reads too
    for user, role in USERS.items():
        done = run_cli(env, "users", "add", user, "--role", role, "--display-name", user.title(),
                       "--password-stdin", stdin=password(user) + "\n")
        assert done.returncode == 0, done.stderr
    with running_app(env, tmp_path / "app.log") as url:
        yield url


@pytest.fixture
def browser():
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_FLAGS)
        yield chromium
        chromium.close()


# ---------------------------------------------------------------- what a person does, in small steps


class Person:
    """One signed-in user in their own browser context; keeps the HTML of every screen they were shown."""

    def __init__(self, browser, url: str, user: str, shots: list[Path]):
        self.user, self.shots, self.seen = user, shots, []
        self.page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
        self.page.set_default_timeout(30_000)
        self.page.goto(url)

    def sign_in(self, screenshot: str | None = None) -> None:
        page = self.page
        page.get_by_label("username").fill(self.user)
        page.get_by_label("password").fill(password(self.user))
        if screenshot:
            self.screenshot(screenshot)
        page.get_by_role("button", name="Login").click()
        # the first page an assessor opens builds the de-identification engine: seconds
        expect(page.locator("#whoami")).to_contain_text(f"signed in as {self.user.title()}", timeout=90_000)
        expect(page.locator("#queue-summary")).not_to_be_empty(timeout=90_000)
        self.look()

    def look(self) -> str:
        """What the page holds now: its HTML and the values of its fields (not part of the HTML)."""
        values = self.page.eval_on_selector_all("input, textarea", "els => els.map(e => e.value)")
        html = self.page.content() + "\n".join(values)
        self.seen.append(html)
        return html

    def screenshot(self, name: str) -> None:
        for folder in self.shots:
            folder.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    def choose(self, elem_id: str, option: str) -> None:
        self.page.locator(f"#{elem_id} input").click()
        self.page.get_by_role("option", name=re.compile(re.escape(option))).first.click()

    def fill(self, elem_id: str, text: str) -> None:
        self.page.locator(f"#{elem_id}").get_by_role("textbox").fill(text)

    def check(self, elem_id: str, label: str) -> None:
        self.page.locator(f"#{elem_id}").get_by_label(label, exact=True).check()

    def sees(self, elem_id: str, text: str, timeout: float = 30_000) -> None:
        try:
            expect(self.page.locator(f"#{elem_id}")).to_contain_text(text, timeout=timeout)
        except AssertionError as exc:
            errors = self.page.locator(".toast-body").all_inner_texts()
            raise AssertionError(f"{self.user}: {text!r} not in #{elem_id}; messages shown: {errors}") from exc

    def has_value(self, elem_id: str, value: str) -> None:
        expect(self.page.locator(f"#{elem_id} input")).to_have_value(value)


def warned_once(person: Person, text: str) -> None:
    """One warning says what is wrong, and no output carries an error badge (they used to block clicks)."""
    toasts = person.page.locator(".toast-body")
    expect(toasts.filter(has_text=text)).to_have_count(1)
    assert person.page.locator("span.error").filter(visible=True).count() == 0, "error badges on the outputs"


def lead_ingests_and_assigns(lead: Person, bundle_zip: Path) -> None:
    lead.page.get_by_role("tab", name="Lead").click()
    lead.page.locator("#lead-upload input[type=file]").set_input_files(str(bundle_zip))
    lead.sees("lead-upload", bundle_zip.name)
    lead.page.locator("#lead-ingest").click()
    lead.sees("lead-message", "Ingested S-2026-0117 · attempt 1", timeout=SCREEN_TIMEOUT_MS)
    lead.sees("lead-summary", "Incomplete: the pre-check failed")
    lead.choose("lead-first", "(ana)")
    lead.page.locator("#lead-assign-button").click()  # a validation error: only one assessor chosen
    warned_once(lead, "choose two assessors")
    lead.screenshot("lead-validation-warning")
    lead.choose("lead-second", "(ben)")
    lead.page.locator("#lead-assign-button").click()  # the page is still usable: no badge to close first
    lead.sees("lead-message", "Assigned to ana and ben")
    lead.screenshot("lead-assigned")


def detail_on_screen(person: Person) -> str:
    heading = person.page.locator("#review-detail-panel h3").inner_text()
    return heading.split()[0]


def saved(person: Person, text: str, done: int) -> None:
    person.sees("review-saved", text)
    person.sees("review-progress", f"{done} of 12 details decided and scored")


def review_with_the_mouse(person: Person, feedback: str, shot: str) -> dict[str, str]:
    """Confirms each finding but the second (overridden with a reason), scores all demonstrated; the third is
    left with Next instead of Save (its choices are saved on the way); then submits."""
    person.sees("review-progress", "0 of 12 details decided and scored")
    scores = {}
    for n in range(12):
        detail = detail_on_screen(person)
        if n == 1:
            person.check("review-action", "Override it")
            drafted = person.page.locator("#review-detail-panel .ps-badge").first.inner_text()
            person.choose("review-new-status", "missing" if drafted != "missing" else "weak")
            person.fill("review-reason", f"{person.user}: the cited passage does not show this detail")
        else:
            person.check("review-action", "Confirm the drafted status")
        person.check("review-score", "Demonstrated")
        person.fill("review-feedback", feedback.format(detail=detail))
        person.page.locator("#review-next" if n == 2 else "#review-save-next").click()
        saved(person, f"Saved your choices on {detail}." if n == 2 else f"Saved {detail}.", n + 1)
        scores[detail] = "demonstrated"
        if n == 5:
            person.screenshot(shot)
        person.look()
    submit(person, "your scores recommend earned")
    return scores


def review_with_the_keyboard(person: Person, not_yet: str, feedback: str) -> dict[str, str]:
    """Reads every detail (J), confirms all read findings at once (A), then scores each with D or N, writes
    feedback (F) and saves and moves on (Ctrl+Enter); arrow keys move within a choice."""
    page = person.page
    expect(page.locator("#review-keys")).to_contain_text("Ctrl")
    for _ in range(11):
        before = detail_on_screen(person)
        page.keyboard.press("j")
        expect(page.locator("#review-detail-panel h3")).not_to_contain_text(before)
    page.keyboard.press("a")
    person.sees("review-saved", "Confirmed 12")
    person.screenshot("review-bulk-confirmed")
    score_radio = page.locator("#review-score")
    scores = {}
    for n in range(12):
        detail = detail_on_screen(person)
        score = "not_yet" if detail == not_yet else "demonstrated"
        if n == 0:  # arrow keys within the choice: D picks Demonstrated, the right arrow moves to Not yet
            page.keyboard.press("d")
            page.keyboard.press("ArrowRight")
            expect(score_radio.get_by_label("Not yet", exact=True)).to_be_checked()
        page.keyboard.press("n" if score == "not_yet" else "d")
        label = "Not yet" if score == "not_yet" else "Demonstrated"
        expect(score_radio.get_by_label(label, exact=True)).to_be_checked()
        page.keyboard.press("f")
        page.keyboard.type(feedback.format(detail=detail))
        page.keyboard.press("Control+Enter")
        saved(person, f"Saved {detail}.", n + 1)
        page.keyboard.press("Tab")  # out of the text field: letters are shortcuts again
        scores[detail] = score
        person.look()
    submit(person, "your scores recommend not yet earned")
    return scores


def submit(person: Person, recommendation: str) -> None:
    person.sees("review-progress", recommendation)
    person.fill("review-comment", f"{person.user}: done")
    person.page.locator("#review-submit").click()
    person.sees("review-header", "You have submitted this review")
    person.look()


def assessor_opens(person: Person, by_row: bool, shot: str | None = None) -> None:
    person.sees("queue-summary", "Your queue (1)")
    person.sees("queue-table", "return to earner")
    if shot:
        person.screenshot(shot)
    if by_row:
        person.page.locator("#queue-table").get_by_text("S-2026-0117 · attempt 1").filter(visible=True).first.click()
    else:
        person.choose("queue-submission", "S-2026-0117")
        person.page.locator("#queue-open").click()
    person.sees("review-header", "S-2026-0117 · attempt 1")
    person.sees("review-detail-panel", "Cited passages")
    person.page.locator("#review-feedback").get_by_role("textbox").focus()
    person.page.keyboard.press("Tab")
    assert person.page.evaluate("document.activeElement.id") == "review-save-next", "Tab reaches the save button"
    assert person.page.locator("#review-detail-panel mark").count() >= 1, "the quote is highlighted in its page"
    person.look()


def reads_the_whole_cited_page(person: Person) -> None:
    """A citation's Full page button opens its whole page below, masked, the same quote marked in it."""
    quote = person.page.locator("#review-detail-panel mark").first.inner_text()
    person.page.locator("#review-detail-panel .ps-open-place").first.click()
    expect(person.page.locator("#review-place mark")).to_have_text(quote, timeout=30_000)
    assert len(person.page.locator("#review-place blockquote").inner_text()) > len(quote)
    person.screenshot("review-full-page")
    person.look()


def reads_the_submission(person: Person) -> None:
    """Read the submission opens the file the earner points to for the detail shown, masked, place by place."""
    person.page.locator("#review-read-box").get_by_text("Read the submission").first.click()
    expect(person.page.locator("#review-read-place input, #review-read-place textarea").first).not_to_have_value(
        "", timeout=30_000)  # the earner's pointer for the detail on screen is filled in
    person.page.locator("#review-read").click()
    expect(person.page.locator("#review-read-text .ps-source-place").first).to_be_visible(timeout=30_000)
    assert len(person.page.locator("#review-read-text").inner_text()) > 200
    person.screenshot("review-read-submission")
    person.look()


def lead_adjudicates(lead: Person) -> None:
    lead.page.get_by_role("tab", name="Queue").click()
    lead.sees("queue-table", "adjudication")
    lead.page.locator("#queue-table").get_by_text("S-2026-0117 · attempt 1").filter(visible=True).first.click()
    lead.sees("lead-scores", "disputed")
    lead.has_value("lead-disputed", DISPUTED)
    for text in (DISPUTED, "Cited passages", "ana", "ben", ANA_MARK, "confirmed it", "Override reason"):
        lead.sees("lead-evidence", text)
    lead.screenshot("lead-adjudication")
    lead.check("lead-adj-score", "Demonstrated")
    lead.fill("lead-adj-feedback", "lead: the definition is shared with staff, as the overview shows")
    lead.page.locator("#lead-adjudicate-button").click()
    lead.sees("lead-message", "The final result is recorded")
    lead.sees("lead-final", "earned")
    lead.screenshot("lead-final")


def assessor_sees_the_final_result(person: Person) -> None:
    person.page.get_by_role("tab", name="Queue").click()
    person.page.locator("#queue-table").get_by_text("S-2026-0117 · attempt 1").filter(visible=True).first.click()
    person.sees("review-final", "Final result")
    person.sees("review-final", "earned")
    person.sees("review-final", "the lead settled")
    person.screenshot("assessor-final")
    person.look()


# ---------------------------------------------------------------- the story


def test_two_blind_assessors_and_a_lead_reach_a_final_result(app_url, browser, tmp_path):
    shots = [SCREENSHOTS, tmp_path / "screenshots"]
    earner = yaml.safe_load((BUNDLE / "submission.yaml").read_text())["earner"]
    bundle_zip = Path(shutil.make_archive(str(tmp_path / "harbor-middle"), "zip", BUNDLE))

    lead = Person(browser, app_url, "lead", shots)
    lead.sign_in(screenshot="login")
    lead_ingests_and_assigns(lead, bundle_zip)

    ana = Person(browser, app_url, "ana", shots)
    ana.sign_in()
    assessor_opens(ana, by_row=True, shot="queue-assessor")
    reads_the_whole_cited_page(ana)
    reads_the_submission(ana)
    ana_scores = review_with_the_mouse(ana, f"{ANA_MARK}: {{detail}} is shown in the evidence", shot="review")

    ben = Person(browser, app_url, "ben", shots)
    ben.sign_in()
    assessor_opens(ben, by_row=False)
    ben_scores = review_with_the_keyboard(ben, DISPUTED, "ben: what {detail} needs is clear")
    assert {d for d in ana_scores if ana_scores[d] != ben_scores[d]} == {DISPUTED}

    lead_adjudicates(lead)
    assessor_sees_the_final_result(ana)

    from prescreen.review.workflow import ReviewService
    from prescreen.settings import Settings

    service = ReviewService.from_settings(Settings())
    [item] = service.queue("lead")
    final = service.final_result("lead", item.submission)
    assert final is not None and final.result == "earned" and final.source == "adjudication"
    assert final.per_detail[DISPUTED].score == "demonstrated"
    assert len(service.audit("lead", item.submission)) > 0

    identity = [earner["name"], earner["name"].split()[-1], earner["email"]]
    for person in (ana, ben):
        for html in person.seen:
            for term in identity:
                assert term not in html, f"{person.user} was shown the earner's identity ({term})"
    assert len(ben.seen) > 12 and not any(ANA_MARK in html for html in ben.seen), "ben saw ana's feedback"
    assert any(ANA_MARK in html for html in ana.seen)
