"""How fast the review tab answers an assessor, driven in headless Chromium as a person uses it.

    python benchmarks/ui_bench.py [--data DIR] [--keep]

Loads `prescreen demo` into a fresh data folder (the five sample bundles screened with the real pipeline), gives
ana a second submission in review (the one awaiting assignment), starts `python app.py` as the tests do
(tests/app_server.py), signs in as ana in Playwright (/usr/bin/chromium) and times, from the click to the
answer on screen:

    open a submission   picking it in the review tab's list, until its header and first detail show
    save and next       Confirm + Demonstrated, then "Save and go to next detail", until "Saved <detail>."
    bulk confirm        "Confirm the drafted findings I have read" after reading one, until "Confirmed 1"
    open the full page  a citation's Full page button, until the whole page shows with the quote marked

Prints the median and the 90th percentile of each, in milliseconds. No test asserts timings: a shared machine
makes them vary; the figures are for reading.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from tests.app_server import app_env, run_cli, running_app  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
ANSWER_MS = 60_000  # the longest any one action may take before the benchmark gives up


def timed(samples: list[float], act: Callable[[], None], answered: Callable[[], None]) -> None:
    """Runs `act`, waits for `answered` and records the milliseconds between."""
    start = time.perf_counter()
    act()
    answered()
    samples.append((time.perf_counter() - start) * 1000)


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


# ---------------------------------------------------------------- the data: the demo, and a second review for ana


def load_demo(env: dict) -> None:
    done = run_cli(env, "demo")
    if done.returncode != 0:
        sys.exit(f"prescreen demo failed: {done.stderr.strip()}")


def ana_reviews(data: Path) -> tuple[str, str, list[str], int]:
    """(the label of ana's review in progress, the label of a fresh one, the details she has not decided in the
    first, how many details the fresh one has): the submission awaiting assignment becomes the fresh one."""
    os.environ["PRESCREEN_DATA_DIR"] = str(data)
    from prescreen.review.workflow import ReviewService
    from prescreen.settings import Settings

    service = ReviewService.from_settings(Settings())
    waiting = next(i for i in service.queue("lead") if i.state == "awaiting_assignment")
    service.assign("lead", waiting.submission, ["ana", "ben"])
    mine = {i.submission: i for i in service.queue("ana") if i.state == "in_review" and i.my_progress != "submitted"}
    started = next(i for i in mine.values() if i.submission != waiting.submission)
    todo = [d.detail_id for d in service.open("ana", started.submission).details if d.decision is None]
    details = len(service.open("ana", waiting.submission).details)
    return started.label, mine[waiting.submission].label, todo, details


# ---------------------------------------------------------------- what ana does


def sign_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("username").fill("ana")
    page.get_by_label("password").fill("ana-demo-pass")
    page.get_by_role("button", name="Login").click()
    expect(page.locator("#queue-summary")).not_to_be_empty(timeout=120_000)
    page.get_by_role("tab", name="Review").click()


def pick(page: Page, elem_id: str, option: str) -> Callable[[], None]:
    def act() -> None:
        page.locator(f"#{elem_id} input").click()
        page.get_by_role("option", name=option).first.click()
    return act


def shows(page: Page, elem_id: str, text: str) -> Callable[[], None]:
    return lambda: expect(page.locator(f"#{elem_id}")).to_contain_text(text, timeout=ANSWER_MS)


def open_submission(page: Page, label: str, samples: list[float]) -> None:
    timed(samples, pick(page, "review-submission", label), shows(page, "review-header", label))
    expect(page.locator("#review-detail-panel h3")).not_to_be_empty(timeout=ANSWER_MS)


def shown_detail(page: Page) -> str:
    return page.locator("#review-detail-panel h3").inner_text().split()[0]


def full_page_and_bulk_confirm(page: Page, todo: list[str], full: list[float], bulk: list[float]) -> None:
    """For each detail not decided yet: go to it, open its first citation's whole page, confirm it in bulk."""
    for k, detail in enumerate(todo):  # undecided details follow the decided ones: Next shows each in turn
        if k:
            page.locator("#review-next").click()
        expect(page.locator("#review-detail-panel h3")).to_contain_text(detail, timeout=ANSWER_MS)
        if page.locator("#review-detail-panel .ps-open-place").count():
            button = page.locator("#review-detail-panel .ps-open-place").first
            timed(full, button.click, lambda: expect(page.locator("#review-place mark")).to_be_visible(
                timeout=ANSWER_MS))
        bulk_button = page.locator("#review-bulk-confirm")
        timed(bulk, bulk_button.click, shows(page, "review-saved", f"Confirmed 1: {detail}"))


def save_and_next_through(page: Page, details: int, samples: list[float]) -> None:
    for _ in range(details):
        detail = shown_detail(page)
        page.locator("#review-action").get_by_label("Confirm the drafted status", exact=True).check()
        page.locator("#review-score").get_by_label("Demonstrated", exact=True).check()
        timed(samples, page.locator("#review-save-next").click, shows(page, "review-saved", f"Saved {detail}."))


# ---------------------------------------------------------------- the run


def run(data: Path) -> dict[str, list[float]]:
    env = app_env(data)
    print("loading the demo (screens five bundles)...", file=sys.stderr)
    load_demo(env)
    started, fresh, todo, details = ana_reviews(data)
    samples: dict[str, list[float]] = {"open a submission": [], "save and next": [], "bulk confirm": [],
                                       "open the full page": []}
    with running_app(env, data / "app.log") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
        sign_in(page, url)
        for k in range(10):  # alternately, so each opening changes what is shown
            open_submission(page, fresh if k % 2 else started, samples["open a submission"])
        open_submission(page, started, [])
        full_page_and_bulk_confirm(page, todo, samples["open the full page"], samples["bulk confirm"])
        open_submission(page, fresh, [])
        save_and_next_through(page, details, samples["save and next"])
        browser.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, help="the data folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ui-bench-") as tmp:
        samples = run(args.data or Path(tmp))
    print(f"{'action':<22}{'n':>4}{'median ms':>12}{'p90 ms':>10}")
    for action, values in samples.items():
        if values:
            print(f"{action:<22}{len(values):>4}{statistics.median(values):>12.0f}{p90(values):>10.0f}")
        else:
            print(f"{action:<22}{0:>4}{'—':>12}{'—':>10}")


if __name__ == "__main__":
    main()
