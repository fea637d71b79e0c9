"""The lead's audit: statistics against hand-computed cases and scikit-learn, and every section over a real
review database filled through ReviewService (SQLite here; PostgreSQL too when PRESCREEN_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sklearn.metrics import cohen_kappa_score

from prescreen.audit import AuditFilter, build_audit
from prescreen.audit.report import reason_kind
from prescreen.audit.stats import agreement, draft_agreement, draft_vs_final
from tests.audit_data import D, N, fill_reviewed, work
from tests.conftest import DETAILS, EARNER


def assert_no_nan(text: str) -> None:
    assert not re.search(r"\bnan\b", text, re.IGNORECASE)


# ---------------------------------------------------------------- statistics


def test_agreement_and_kappa_by_hand_and_by_sklearn():
    first, second = [D, D, N, N], [D, N, N, N]
    # p_o = 3/4; p_e = .5 * .25 + .5 * .75 = .5; kappa = (.75 - .5) / (1 - .5) = .5
    result = agreement(first, second)
    assert (result.n, result.agreement, result.kappa) == (4, 0.75, pytest.approx(0.5))
    assert result.kappa == pytest.approx(cohen_kappa_score(first, second))
    assert "only 4 items" in result.note


def test_kappa_is_said_to_be_undefined_when_every_rating_is_one_class():
    result = agreement([D] * 12, [D] * 12)
    assert (result.agreement, result.kappa) == (1.0, None)
    assert result.note == "kappa undefined: every rating is demonstrated"
    assert "nan" not in result.model_dump_json().lower()
    empty = agreement([], [])
    assert (empty.n, empty.agreement, empty.kappa, empty.note) == (0, None, None, "no items rated by both yet")
    with pytest.raises(ValueError):
        agreement([D], [])


def test_opposite_raters_have_kappa_minus_one_and_no_small_sample_note_from_ten_items():
    result = agreement([D, N] * 5, [N, D] * 5)
    assert (result.agreement, result.kappa, result.note) == (0.0, pytest.approx(-1.0), "")


def test_confusion_matrix_rows_are_drafted_statuses_and_columns_final_scores():
    drafted = ["evidenced", "weak", "weak", "missing", "evidenced"]
    final = [D, D, N, N, N]
    assert draft_vs_final(drafted, final) == [[1, 1], [1, 1], [0, 1]]
    assert draft_vs_final([], []) == [[0, 0], [0, 0], [0, 0]]
    # read as scores: evidenced -> demonstrated; agreement on items 1, 3 and 4
    assert draft_agreement(drafted, final).agreement == pytest.approx(3 / 5)


def test_precheck_reasons_lose_their_particulars():
    assert reason_kind("part overview has 40 words, below its minimum of 100") == (
        "part overview below its word minimum (100)")
    assert reason_kind("artifacts/video.mp4: missing file: missing_file (test)") == "missing file"
    assert reason_kind("cannot be screened: no submission.yaml at the bundle root") == "cannot be screened"


# ---------------------------------------------------------------- a review database with a bit of everything


@pytest.fixture
def reviewed(kit):
    return fill_reviewed(kit)


def test_coverage_and_ai_vs_human(reviewed):
    audit = build_audit(reviewed.service.sessions)
    coverage = {r.detail_id: r for r in audit.coverage}
    assert [r.detail_id for r in audit.coverage] == list(DETAILS)
    eo12 = coverage["EO1.2"]
    assert (eo12.drafted_n, eo12.evidenced, eo12.weak, eo12.final_n, eo12.demonstrated) == (4, 0, 4, 2, 1)
    assert (eo12.evidenced_rate, eo12.demonstrated_rate, eo12.detail) == (0.0, 0.5, "Examines data.")
    ai = {r.detail_id: r for r in audit.ai_vs_human}
    # EO1.2 drafted weak (= not yet) twice; final: A demonstrated, B not yet
    assert (ai["EO1.2"].stats.n, ai["EO1.2"].stats.agreement) == (2, 0.5)
    assert ai["EO1.1"].stats.kappa is None and "undefined" in ai["EO1.1"].stats.note
    assert (ai["EO1.2"].decisions, ai["EO1.2"].overrides, ai["EO1.2"].override_rate) == (4, 2, 0.5)
    assert [(r.drafted, r.demonstrated, r.not_yet) for r in audit.confusion if r.detail_id == "EO1.2"] == [
        ("evidenced", 0, 0), ("weak", 1, 1), ("missing", 0, 0)]
    grouped = [(r.from_status, r.to_status, r.count, r.details) for r in audit.override_reasons]
    assert grouped == [("weak", "evidenced", 2, ["EO1.2"]), ("evidenced", "weak", 1, ["EO2.1"])]


def test_assessors_and_adjudication(reviewed):
    audit = build_audit(reviewed.service.sessions)
    [pair] = audit.pairs
    assert (pair.first, pair.second, pair.submissions, pair.stats.n) == ("ana", "ben", 2, 6)
    assert pair.stats.agreement == pytest.approx(5 / 6)
    by_detail = {r.detail_id: r.stats for r in audit.assessor_details}
    assert (by_detail["EO1.2"].n, by_detail["EO1.2"].agreement) == (2, 0.5)
    assessors = {r.assessor: r for r in audit.assessors}
    assert set(assessors) == {"ana", "ben"}  # cy has submitted nothing
    ana = assessors["ana"]
    assert (ana.submitted, ana.to_adjudication, ana.adjudication_rate) == (2, 1, 0.5)
    assert assessors["ana"].stats.agreement == pytest.approx(5 / 6) and assessors["ben"].stats.agreement == 1.0
    adjudication = {r.detail_id: r for r in audit.adjudication}
    assert (adjudication["EO1.2"].adjudicated, adjudication["EO1.2"].adjudication_rate) == (1, 0.5)
    assert adjudication["EO1.1"].adjudicated == 0


def test_flow(reviewed):
    audit = build_audit(reviewed.service.sessions)
    flow = audit.flow
    counts = (flow.submissions, flow.final, flow.earned, flow.not_yet_earned, flow.open, flow.returned)
    assert counts == (4, 2, 1, 1, 1, 1)
    assert flow.median_hours_to_final is not None and flow.median_hours_to_final >= 0
    assert [(t.code, t.attempt) for t in audit.final_times] == [("A", 1), ("B", 1)]
    queue = {q.state: q.submissions for q in audit.queue}
    assert queue == {"incomplete": 0, "awaiting_assignment": 0, "in_review": 1, "adjudication": 0}
    reasons = {(r.source, r.reason): r.count for r in audit.reasons}
    assert reasons == {("pre-check", "part overview below its word minimum (100)"): 1,
                       ("returned", "The overview is too short."): 1}
    attempts = [(r.attempt, r.submissions, r.earned, r.not_yet_earned, r.open, r.returned) for r in audit.resubmissions]
    assert attempts == [(1, 3, 1, 1, 0, 1), (2, 1, 0, 0, 1, 0)]


def test_details_retried_at_the_next_attempt(reviewed):
    [retried] = build_audit(reviewed.service.sessions).retried_details  # B: not yet on EO1.2, attempt 2 open
    assert (retried.detail_id, retried.not_yet_before, retried.now_demonstrated, retried.open) == ("EO1.2", 1, 0, 1)
    again = next(q.submission for q in reviewed.service.queue("lead") if q.label == "B · attempt 2")
    work(reviewed, "ana", again)
    work(reviewed, "cy", again)
    [retried] = build_audit(reviewed.service.sessions).retried_details
    assert (retried.not_yet_before, retried.now_demonstrated, retried.still_not_yet, retried.open) == (1, 1, 0, 0)


def test_filters_select_submissions(reviewed):
    sessions = reviewed.service.sessions
    assert build_audit(sessions, AuditFilter(credential="test-credential")).flow.submissions == 4
    assert build_audit(sessions, AuditFilter(credential="other")).flow.submissions == 0
    assert build_audit(sessions, AuditFilter(rubric_version="1")).flow.submissions == 4
    assert build_audit(sessions, AuditFilter(rubric_version="2")).flow.submissions == 0
    today = datetime.now(UTC).date()
    assert build_audit(sessions, AuditFilter(since=today, until=today)).flow.submissions == 4  # both ends included
    assert build_audit(sessions, AuditFilter(since=today - timedelta(days=1), until=today + timedelta(days=1))
                       ).flow.submissions == 4
    assert build_audit(sessions, AuditFilter(since=today + timedelta(days=2))).flow.submissions == 0
    assert build_audit(sessions, AuditFilter(until=today - timedelta(days=2))).flow.submissions == 0


def test_an_empty_database_gives_an_empty_audit_with_its_columns(kit):
    audit = build_audit(kit.service.sessions)
    assert audit.flow.submissions == 0 and audit.ai_overall.n == 0
    for table in audit.tables():
        header = next(csv.reader(io.StringIO(table.to_csv())))
        assert header == table.columns and header


def test_every_table_exports_as_csv_without_nan_or_the_earners_identity(reviewed):
    audit = build_audit(reviewed.service.sessions)
    tables = audit.tables()
    assert len({t.name for t in tables}) == len(tables) == 15
    for table in tables:
        rows = list(csv.reader(io.StringIO(table.to_csv())))
        assert rows[0] == table.columns and len(rows) == len(table.rows) + 1
    everything = "".join(t.to_csv() for t in tables) + audit.model_dump_json()
    assert_no_nan(everything)
    for term in (EARNER["name"], EARNER["email"], "Nakamura"):
        assert term not in everything
    assert json.loads(audit.model_dump_json())["flow"]["final"] == 2


# ---------------------------------------------------------------- the HTML report and the command


def test_html_report_is_self_contained_with_embedded_plots_and_escaped_text(reviewed):
    from prescreen.audit.html import render_html

    page = render_html(build_audit(reviewed.service.sessions))
    assert page.startswith("<!DOCTYPE html>") and "</html>" in page
    images = re.findall(r"<img alt='[^']*' src='data:image/png;base64,([A-Za-z0-9+/=]+)'>", page)
    assert len(images) == 5 and all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert not re.search(r"(src|href)=['\"]?(https?:|//)", page) and "<link" not in page
    assert "<script" not in page and "Only &lt;script&gt;claimed&lt;/script&gt;." in page
    for heading in ("Coverage", "AI vs human", "Assessors", "Flow"):
        assert f"<h2>{heading}</h2>" in page
    assert "kappa undefined: every rating is demonstrated" in page
    assert_no_nan(page)


@pytest.fixture
def cli_db(tmp_path):
    """The default database of the settings (SQLite in the data dir), filled like `reviewed`."""
    from prescreen.review.db import database_url
    from prescreen.settings import Settings
    from tests.conftest import ReviewKit

    kit = ReviewKit(database_url(Settings()))
    a = kit.in_review(code="A")
    work(kit, "ana", a)
    work(kit, "ben", a, scores={"EO2.1": N})
    kit.service.adjudicate("lead", a, "EO2.1", D, "Fine.")
    yield kit
    kit.engine.dispose()


def test_audit_command_writes_html_csv_and_json(cli_db, tmp_path):
    from click.testing import CliRunner

    from prescreen.cli import main

    runner = CliRunner()
    main_audit = ["audit", "--no-similarity"]  # the real model's similarity: tests/test_rubric_lint.py
    html_file = tmp_path / "out" / "audit.html"
    assert runner.invoke(main, [*main_audit, "--out", str(html_file)]).exit_code == 0
    page = html_file.read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "<h2>Rubric lint</h2>" in page
    result = runner.invoke(main, [*main_audit, "--format", "csv", "--out", str(tmp_path / "csv")])
    assert result.exit_code == 0 and len(result.output.split()) == 15 + 5  # the audit's tables and the lint's
    rows = list(csv.DictReader((tmp_path / "csv" / "adjudication.csv").open(encoding="utf-8")))
    assert [(r["detail_id"], r["adjudicated"]) for r in rows] == [("EO1.1", "0"), ("EO1.2", "0"), ("EO2.1", "1")]
    data = json.loads(runner.invoke(main, [*main_audit, "--format", "json"]).output)
    assert (data["flow"]["final"], data["flow"]["earned"]) == (1, 1)
    assert [r["detail_id"] for r in data["lint"]["data"]["assessor_disagreement"]] == ["EO2.1"]
    other = json.loads(runner.invoke(main, [*main_audit, "--format", "json", "--credential", "other"]).output)
    assert other["flow"]["submissions"] == 0
    bad = runner.invoke(main, ["audit", "--since", "2026-02-01", "--until", "2026-01-01"])
    assert bad.exit_code == 2 and "swap them" in bad.output
    (tmp_path / "a-file").write_text("")
    blocked = runner.invoke(main, [*main_audit, "--out", str(tmp_path / "a-file" / "audit.html")])
    assert blocked.exit_code == 2 and "cannot write" in blocked.output and "Traceback" not in blocked.output


# ---------------------------------------------------------------- the audit tab


class SignedIn:
    """What the tab reads from Gradio's request: who is signed in."""

    def __init__(self, username: str):
        self.username = username


def data_links(html: str) -> dict[str, str]:
    return {name: base64.b64decode(data).decode("utf-8")
            for name, data in re.findall(r"<a download='([^']+)' href='data:[^;]+;base64,([^']+)'>", html)}


@pytest.fixture
def tab(reviewed, tmp_path):
    import gradio as gr

    from prescreen.badges import IssuerSettings, generate_key
    from prescreen.settings import Settings
    from prescreen.ui import audit as audit_tab
    from tests.fakes import StemHashEmbeddings

    generate_key(tmp_path / "issuer.pem")
    issuer = IssuerSettings(id="https://leaders.example.org/issuer", name="Example", key_file=tmp_path / "issuer.pem")
    with gr.Blocks():
        built = audit_tab.build(reviewed.service, embedder=StemHashEmbeddings(), settings=Settings(), issuer=issuer)
    built.kit, built.key_file = reviewed, tmp_path / "issuer.pem"
    return built


def refused(action, match: str) -> None:
    """The handler says no, with `match` in its message: raised as gr.Error, or shown as a gr.Warning with
    nothing changed (ui_errors does either, depending on its version)."""
    import warnings

    import gradio as gr

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = action()
        except gr.Error as exc:
            assert re.search(match, str(exc.message)), exc.message
            return
    assert result == gr.skip()
    shown = [html.unescape(str(w.message)) for w in caught]  # the warning is escaped HTML
    assert any(re.search(match, message) for message in shown), shown


def by_id(updates: dict) -> dict:
    return {getattr(component, "elem_id", None): value for component, value in updates.items()}


def test_audit_tab_loads_plots_tables_and_downloads_for_a_lead(tab):
    from matplotlib.figure import Figure

    raw = tab.load(SignedIn("lead"))
    updates = by_id(raw)
    plots = {c: v for c, v in raw.items() if str(getattr(c, "elem_id", "")).startswith("audit-plot-")}
    assert len(plots) == 5 and all(isinstance(fig, Figure) for fig in plots.values())
    for component, fig in plots.items():  # what gr.Plot sends to the page: the figure as an inline PNG
        assert component.postprocess(fig).plot.startswith("data:image/png;base64,")
    assert ">4</b>submissions" in updates["audit-summary"]
    assert "Coverage per detail" in updates["audit-coverage"] and "Override reasons" in updates["audit-ai-vs-human"]
    assert "&lt;script&gt;" in updates["audit-ai-vs-human"] and "<script" not in updates["audit-ai-vs-human"]
    files = data_links(updates["audit-downloads"])
    assert len([n for n in files if n.endswith(".csv")]) == 15 + 5 and "prescreen-audit.html" in files
    assert files["coverage.csv"].startswith("detail_id,detail,drafted_n")
    assert "Details where assessors disagree most" in updates["audit-lint"]
    assert [value for value, _ in updates["audit-credential"].choices] == ["(all)", "test-credential"]
    assert [value for value, _ in updates["audit-version"].choices] == ["(all)", "1"]


def test_audit_tab_filters_and_refuses_bad_days(tab):

    updates = by_id(tab.refresh("(all)", "(all)", "", "", True, SignedIn("lead")))
    assert "lint_similar.csv" in data_links(updates["audit-downloads"])
    assert "Flagged at cosine similarity" in updates["audit-lint"]
    none = by_id(tab.refresh("(all)", "(all)", "2999-01-01", "", False, SignedIn("lead")))
    assert ">0</b>submissions" in none["audit-summary"]
    refused(lambda: tab.refresh("(all)", "(all)", "01/02/2026", "", False, SignedIn("lead")), "YYYY-MM-DD")


def test_audit_tab_is_for_leads_only(tab):
    import gradio as gr

    assert all(update == gr.skip() for update in tab.load(SignedIn("ana")))
    for action in (lambda: tab.refresh("(all)", "(all)", "", "", False, SignedIn("ana")),
                   lambda: tab.issue(1, SignedIn("ben"))):
        refused(action, "Only a lead")


def test_audit_tab_issues_a_badge_for_an_earned_result_only(tab):

    from prescreen.badges import load_key, public_jwk, verify

    earned = 1  # submission A of the `reviewed` data: agreed, earned
    message = tab.issue(earned, SignedIn("lead"))
    token = data_links(message)["badge-1.jwt"]
    credential = verify(token, public_jwk(load_key(tab.key_file)))
    assert credential["credentialSubject"]["identifier"][0]["identityHash"] == EARNER["name"]
    refused(lambda: tab.issue(2, SignedIn("lead")), "was not earned")
    refused(lambda: tab.issue(None, SignedIn("lead")), "Type the submission's number")


def test_long_tables_are_cut_in_html_but_whole_in_csv():
    from prescreen.audit.html import table_html
    from prescreen.audit.report import Table

    table = Table(name="t", title="T", columns=["n", "flag"], rows=[[i, i % 2 == 0] for i in range(250)])
    page = table_html(table, max_rows=200)
    assert page.count("<tr>") == 201 and "The first 200 of 250 rows" in page and "<td>yes</td>" in page
    assert len(table.to_csv().splitlines()) == 251


# ---------------------------------------------------------------- the tab's calibration section


def test_audit_tab_calibration_marks_gold_and_assigns_gold_reviews_for_a_lead_only(tab):
    updates = by_id(tab.load(SignedIn("lead")))
    assert "Calibration: each assessor against the gold set" in updates["audit-calibration"]
    assert "No gold submission yet" in updates["audit-gold-set"]
    message, gold_set = tab.mark_gold(1, "", SignedIn("lead"))  # A: final, earned
    assert "A · attempt 1 is in the gold set (true scores from final)" in message
    assert "EO1.1: demonstrated, EO1.2: demonstrated, EO2.1: demonstrated" in gold_set
    message, _ = tab.assign_gold("cy", SignedIn("lead"))
    assert "Gold reviews assigned to cy: #1." in message
    message, _ = tab.require_calibration("cy", SignedIn("lead"))
    assert "cy gets no live work until they pass calibration again" in message
    refused(lambda: tab.mark_gold(1, "", SignedIn("lead")), "in the gold set already")
    refused(lambda: tab.mark_gold(3, "EO1.1", SignedIn("lead")), "DETAIL=demonstrated")
    refused(lambda: tab.mark_gold(None, "", SignedIn("lead")), "Type the submission's number")
    for action in (lambda: tab.mark_gold(3, "", SignedIn("ana")), lambda: tab.assign_gold("ben", SignedIn("ana")),
                   lambda: tab.require_calibration("ben", SignedIn("ben"))):
        refused(action, "Only a lead")
    rows = {r[0]: r for r in build_audit(tab.kit.service.sessions).table("calibration").rows}
    assert set(rows) == {"ana", "ben", "cy"} and "cy has not passed calibration yet" in str(rows["cy"][-1])


def test_true_scores_typed_in_the_tab_are_parsed():
    from prescreen.ui.audit import parse_scores

    assert parse_scores("EO1.1=demonstrated, EO1.2 = not yet\nEO2.1=not_yet") == {
        "EO1.1": D, "EO1.2": N, "EO2.1": N}
    assert parse_scores("  ") == {}
