"""The review workflow end to end with the real screening pipeline (the fake embedder stands in for the model):
`prescreen ingest`, `prescreen demo`, `prescreen db upgrade`, and a real bundle through the blind review."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from prescreen.audit import AuditFilter, build_audit
from prescreen.cli import main
from prescreen.pipeline import Screener
from prescreen.review.accounts import Passwords, make_hasher
from prescreen.review.calibration import Calibration
from prescreen.review.db import make_engine, session_factory, upgrade
from prescreen.review.workflow import ReviewService
from prescreen.settings import Settings
from tests.fakes import StemHashEmbeddings

ROOT = Path(__file__).resolve().parents[1]
LINCOLN = ROOT / "examples" / "lincoln-elementary"
HARBOR = ROOT / "examples" / "harbor-middle"


@pytest.fixture
def cli_db(db_url, monkeypatch):
    """The CLI on the test database, screening with the fake embedder instead of the model."""
    monkeypatch.setenv("PRESCREEN_DATABASE_URL", db_url)
    monkeypatch.setattr("prescreen.embeddings.make_embedder", lambda settings: StemHashEmbeddings())
    return db_url


def test_a_real_bundle_through_the_blind_review(db_url, tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    engine = make_engine(db_url)
    upgrade(engine)
    screener = Screener(settings, embedder=StemHashEmbeddings())
    service = ReviewService(session_factory(engine), screener.screen, passwords=Passwords(make_hasher(fast=True)))
    try:
        for name, role in (("lead", "lead"), ("ana", "assessor"), ("ben", "assessor")):
            service.create_user(name, f"{name}-password", role)
        sub = service.ingest("lead", LINCOLN)
        assert (sub.code, sub.credential, sub.screening_runs) == (
            "S-2026-0101", "leading-an-equitable-learning-culture", 1)
        service.auto_assign("lead", sub.id)
        view = service.open("ana", sub.id)
        text = view.model_dump_json().lower()
        for term in ("teresa", "nakamura", "tnakamura@example.org", "lincoln elementary school", "millbrook unified"):
            assert term not in text, term
        assert len(view.details) == 12 and view.rubric_title
        citations = [c for d in view.details for c in d.citations]
        on_pages = [c for c in citations if c.where.startswith("p. ")]  # a page holds more than the quote
        assert on_pages and all(c.context_before or c.context_after for c in on_pages)
        assert any(d.self_analysis for d in view.details)
    finally:
        engine.dispose()


def test_cli_ingest_many_bundles(cli_db):
    runner = CliRunner()
    runner.invoke(main, ["users", "add", "lead", "--role", "lead", "--password-stdin"], input="lead-pass-1\n")
    for name in ("ana", "ben"):
        runner.invoke(main, ["users", "add", name, "--role", "assessor", "--password-stdin"], input="pass-12345\n")
    result = runner.invoke(main, ["ingest", str(LINCOLN), str(HARBOR), "--auto-assign"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("#1\tS-2026-0101 · attempt 1\tin_review\tready\tassigned to ana, ben")
    assert lines[1].startswith("#2\tS-2026-0117 · attempt 1\tincomplete") and "no text" in lines[1]
    again = runner.invoke(main, ["ingest", str(LINCOLN)])
    assert again.exit_code == 2 and "in_review: ingest again is allowed only when" in again.output


def test_cli_ingest_needs_a_lead(cli_db):
    result = CliRunner().invoke(main, ["ingest", str(LINCOLN)])
    assert result.exit_code == 2 and "no lead exists: pass --as LEAD" in result.output


def test_cli_demo_lands_on_a_queue_with_work_in_every_state_and_gives_the_audit_data(cli_db):
    runner = CliRunner()
    result = runner.invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "S-2026-0101 · attempt 1\tin_review" in result.output and "ana / ana-demo-pass" in result.output
    service = ReviewService.from_settings(Settings())
    assert service.authenticate("lead", "lead-demo-pass").role == "lead"
    queue = service.queue("lead")
    by_state = {state: [i.submission for i in queue if i.state == state] for state in
                ("awaiting_assignment", "in_review", "adjudication", "final", "incomplete", "returned")}
    assert all(by_state.values()), by_state
    results = {service.final_result("lead", n).result for n in by_state["final"]}
    assert results == {"earned", "not_yet_earned"}
    [in_review] = by_state["in_review"]
    done = {a.username: a.submitted for a in service.lead_view("lead", in_review).assessors}
    assert done == {"ana": False, "ben": True}
    assert any(d.decision for d in service.open("ana", in_review).details), "ana is part way through it"
    assert {i.submission for i in service.queue("ana")} >= {in_review, *by_state["adjudication"]}
    assert "loaded already" in runner.invoke(main, ["demo"]).output
    audit_has_overrides_disagreements_and_a_resubmission(service)
    gold_set_with_one_assessor_calibrated_and_one_held_back(service)


def gold_set_with_one_assessor_calibrated_and_one_held_back(service: ReviewService) -> None:
    calibration = Calibration(service)
    assert [g.reviews for g in calibration.gold("lead")] == [2, 2]
    standing = {c.assessor: (c.standing, c.live_work) for c in calibration.status("lead")}
    assert standing == {"ana": ("passed", True), "ben": ("in_calibration", True), "cam": ("below_threshold", False)}
    gold = {g.submission for g in calibration.gold("lead")}
    assert not gold & {i.submission for i in service.queue("ana") if i.state != "in_review"}, "never live work"


def audit_has_overrides_disagreements_and_a_resubmission(service: ReviewService) -> None:
    audit = build_audit(service.sessions, AuditFilter())
    tables = {t.name: t for t in audit.tables()}
    assert {row[1] for row in tables["override_reasons"].rows} == {"evidenced", "weak"}
    assert audit.flow.final >= 6 and audit.flow.earned and audit.flow.not_yet_earned and audit.flow.returned
    [pair] = tables["assessor_pairs"].rows
    assert pair[:2] == ["ana", "ben"] and 0 < pair[4] < 1, "the two assessors agree, but not on everything"
    assert sum(row[2] for row in tables["adjudication"].rows) >= 4, "disputed details went to the lead"
    assert [row[0] for row in tables["resubmissions"].rows] == [1, 2]


def test_cli_db_upgrade(tmp_path):
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"sqlite:///{tmp_path / 'data' / 'review.sqlite'}: at the latest schema"


def test_cli_db_upgrade_hides_the_password_and_reports_an_unreachable_server(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:secret@127.0.0.1:1/nothing")
    command = ["users", "add", "x1", "--role", "lead", "--password-stdin"]
    result = CliRunner().invoke(main, command, input="pass-12345\n")
    assert result.exit_code == 2 and "cannot open the review database" in result.output
    assert "secret" not in result.output
