"""End to end, as people use it: the app (`python app.py`) in a subprocess, headless Chromium driven by Playwright.

A lead uploads examples/harbor-middle as a zip and assigns two assessors; each assessor confirms one finding,
overrides another with a reason, scores every detail and submits, blind (never the earner's name or e-mail,
never the other assessor's feedback); they disagree on one detail, which the lead adjudicates; the final result
is then in the database. Screenshots of the main screens go to test-output/screenshots/ and the test's tmp dir.

Real components throughout: the embedding model screens the bundle when the lead ingests it (about 30 s).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect, sync_playwright

from tests.servers import free_port, wait_until_up

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
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


def cli(*args: str, stdin: str = "") -> None:
    done = subprocess.run([sys.executable, "-m", "prescreen.cli", *args], input=stdin, text=True,
                          capture_output=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def app_url(tmp_path: Path):
    for user, role in USERS.items():
        cli("users", "add", user, "--role", role, "--display-name", user.title(), "--password-stdin",
            stdin=password(user) + "\n")
    port = free_port()
    env = {**os.environ, "PRESCREEN_UI_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    log = tmp_path / "app.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, process, log, "the app", seconds=90)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


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


def lead_ingests_and_assigns(lead: Person, bundle_zip: Path) -> None:
    lead.page.get_by_role("tab", name="Lead").click()
    lead.page.locator("#lead-upload input[type=file]").set_input_files(str(bundle_zip))
    lead.sees("lead-upload", bundle_zip.name)
    lead.page.locator("#lead-ingest").click()
    lead.sees("lead-message", "Ingested S-2026-0117 · attempt 1", timeout=SCREEN_TIMEOUT_MS)
    lead.sees("lead-summary", "Incomplete: the pre-check failed")
    lead.choose("lead-first", "(ana)")
    lead.choose("lead-second", "(ben)")
    lead.page.locator("#lead-assign-button").click()
    lead.sees("lead-message", "Assigned to ana and ben")
    lead.screenshot("lead-assigned")


def detail_on_screen(person: Person) -> str:
    heading = person.page.locator("#review-detail-panel h3").inner_text()
    return heading.split()[0]


def review(person: Person, scores: dict[str, str], feedback: str, recommendation: str, by_keyboard: bool,
           shot: str | None = None) -> dict[str, str]:
    """Works through every detail: confirms the first, overrides the second, scores all; then submits."""
    page, saved = person.page, {}
    person.sees("review-progress", "0 of 12 details decided and scored")
    for n in range(12):
        detail = detail_on_screen(person)
        if n == 1:
            person.check("review-action", "Override it")
            drafted = person.page.locator("#review-detail-panel .ps-badge").first.inner_text()
            person.choose("review-new-status", "missing" if drafted != "missing" else "weak")
            person.fill("review-reason", f"{person.user}: the cited passage does not show this detail")
        else:
            person.check("review-action", "Confirm the drafted status")
        score = scores.get(detail, "demonstrated")
        person.check("review-score", "Demonstrated" if score == "demonstrated" else "Not yet")
        person.fill("review-feedback", feedback.format(detail=detail))
        if by_keyboard:
            page.locator("#review-feedback").get_by_role("textbox").press("Enter")
        else:
            page.locator("#review-save-next").click()
        person.sees("review-saved", f"Saved {detail}.")
        person.sees("review-progress", f"{n + 1} of 12 details decided and scored")
        saved[detail] = score
        if n == 5 and shot:
            person.screenshot(shot)
        person.look()
    person.check("review-recommendation", "Earned" if recommendation == "earned" else "Not yet earned")
    person.fill("review-comment", f"{person.user}: done")
    page.locator("#review-submit").click()
    person.sees("review-header", "You have submitted this review")
    person.look()
    return saved


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


# ---------------------------------------------------------------- the story


def test_two_blind_assessors_and_a_lead_reach_a_final_result(app_url, browser, tmp_path):
    started = time.monotonic()
    shots = [SCREENSHOTS, tmp_path / "screenshots"]
    earner = yaml.safe_load((BUNDLE / "submission.yaml").read_text())["earner"]
    bundle_zip = Path(shutil.make_archive(str(tmp_path / "harbor-middle"), "zip", BUNDLE))

    lead = Person(browser, app_url, "lead", shots)
    lead.sign_in(screenshot="login")
    lead_ingests_and_assigns(lead, bundle_zip)

    ana = Person(browser, app_url, "ana", shots)
    ana.sign_in()
    assessor_opens(ana, by_row=True, shot="queue-assessor")
    ana_scores = review(ana, {}, f"{ANA_MARK}: {{detail}} is shown in the evidence", "earned",
                        by_keyboard=False, shot="review")

    ben = Person(browser, app_url, "ben", shots)
    ben.sign_in()
    assessor_opens(ben, by_row=False)
    ben_scores = review(ben, {DISPUTED: "not_yet"}, "ben: what {detail} needs is clear", "not_yet",
                        by_keyboard=True)
    assert {d for d in ana_scores if ana_scores[d] != ben_scores[d]} == {DISPUTED}

    lead.page.get_by_role("tab", name="Queue").click()
    lead.sees("queue-table", "adjudication")
    lead.page.locator("#queue-table").get_by_text("S-2026-0117 · attempt 1").filter(visible=True).first.click()
    lead.sees("lead-scores", "disputed")
    lead.has_value("lead-disputed", DISPUTED)
    lead.check("lead-adj-score", "Demonstrated")
    lead.fill("lead-adj-feedback", "lead: the definition is shared with staff, as the overview shows")
    lead.page.locator("#lead-adjudicate-button").click()
    lead.sees("lead-message", "The final result is recorded")
    lead.sees("lead-final", "earned")
    lead.screenshot("lead-final")

    from prescreen.review.workflow import ReviewService
    from prescreen.settings import Settings

    service = ReviewService.from_settings(Settings())
    [item] = service.queue("lead")
    final = service.final_result("lead", item.submission)
    assert final is not None and final.result == "earned" and final.source == "adjudication"
    assert final.per_detail[DISPUTED][0] == "demonstrated"

    identity = [earner["name"], earner["name"].split()[-1], earner["email"]]
    for person in (ana, ben):
        for html in person.seen:
            for term in identity:
                assert term not in html, f"{person.user} was shown the earner's identity ({term})"
    assert len(ben.seen) > 12 and not any(ANA_MARK in html for html in ben.seen), "ben saw ana's feedback"
    assert any(ANA_MARK in html for html in ana.seen)
    assert time.monotonic() - started < 300
