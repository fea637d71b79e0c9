"""The lead's audit in the running app, on the demo's data, in headless Chromium driven by Playwright.

`prescreen demo` loads its queue (finished reviews with overrides, disagreements and adjudications) and its gold
set; the lead signs in, opens the Audit tab, sees the plots drawn (images with pixels) and the tables, finds cam
(new) below the calibration threshold, and downloads a table as CSV; an assessor signed in never sees the tab.
Screenshots go to test-output/screenshots/ and the test's tmp dir.

Real components: the demo screens five bundles with the real embedding model (a minute or two).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from prescreen.review.demo import USERS
from tests.app_server import app_env, run_cli, running_app
from tests.test_ui_e2e import CHROMIUM, SCREENSHOTS, Person, browser  # noqa: F401 - browser: its fixture

PASSWORDS = {user: secret for user, secret, *_ in USERS}
ROLES = {user: role for user, _, role, _ in USERS}
PLOTS = ("coverage", "agreement", "confusion", "flow")
LOAD_TIMEOUT_MS = 120_000  # the first audit draws every plot

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium (apt install chromium)"),
]


@pytest.fixture
def demo_url(tmp_path: Path):
    env = app_env(tmp_path / "data")
    done = run_cli(env, "demo")
    assert done.returncode == 0, done.stdout + done.stderr
    with running_app(env, tmp_path / "app.log") as url:
        yield url


class DemoPerson(Person):
    """A demo user (their demo password; the page names them by display name, so wait for their role)."""

    def sign_in(self, screenshot: str | None = None) -> None:
        page = self.page
        page.get_by_label("username").fill(self.user)
        page.get_by_label("password").fill(PASSWORDS[self.user])
        page.get_by_role("button", name="Login").click()
        expect(page.locator("#whoami")).to_contain_text(f"({ROLES[self.user]})", timeout=90_000)
        expect(page.locator("#queue-summary")).not_to_be_empty(timeout=90_000)
        if screenshot:
            self.screenshot(screenshot)


def drawn(person: Person, plot: str) -> bool:
    """The plot is an image the browser decoded, with pixels."""
    image = person.page.locator(f"#audit-plot-{plot} img").first
    expect(image).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    return image.evaluate("img => img.complete && img.naturalWidth > 100 && img.naturalHeight > 100")


def downloaded_csv(person: Person, name: str, folder: Path) -> list[list[str]]:
    with person.page.expect_download() as download:
        person.page.locator(f"#audit-downloads a[download='{name}']").click()
    saved = folder / name
    download.value.save_as(saved)
    return list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))


def test_the_lead_reads_the_audit_on_the_demo_and_an_assessor_never_sees_it(demo_url, browser, tmp_path):  # noqa: F811
    shots = [SCREENSHOTS, tmp_path / "screenshots"]
    lead = DemoPerson(browser, demo_url, "lead", shots)
    lead.sign_in()
    lead.page.get_by_role("tab", name="Audit").click()
    lead.sees("audit-summary", "AI draft against final score", timeout=LOAD_TIMEOUT_MS)
    assert all(drawn(lead, plot) for plot in PLOTS)
    expect(lead.page.locator("#audit-coverage table tbody tr").first).to_be_visible()
    assert lead.page.locator("#audit-coverage table tbody tr").count() >= 12, "a row per rubric detail"
    lead.page.get_by_role("button", name="AI vs human").click()
    lead.sees("audit-ai-vs-human", "override")
    lead.page.get_by_role("button", name="Calibration").first.click()
    lead.sees("audit-calibration", "below_threshold")  # cam, on the demo's gold set
    lead.screenshot("audit-lead")

    rows = downloaded_csv(lead, "override_reasons.csv", tmp_path)
    assert rows[0] == ["from_status", "to_status", "reason", "count", "details"]
    assert {row[1] for row in rows[1:]} == {"evidenced", "weak"}, "the demo's overrides, both ways"
    lead.screenshot("audit-lead-downloaded")

    ana = DemoPerson(browser, demo_url, "ana", shots)
    ana.sign_in()
    expect(ana.page.get_by_role("tab", name="Review")).to_be_visible()
    expect(ana.page.locator("#queue-table")).to_contain_text("S-2026-0101", timeout=60_000)  # her queue is shown
    expect(ana.page.locator(".progress-text")).to_have_count(0, timeout=60_000)
    expect(ana.page.get_by_role("tab", name="Audit")).to_have_count(0)
    assert "AI draft against final score" not in ana.look()
    ana.screenshot("audit-assessor-no-tab")
