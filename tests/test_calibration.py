"""Assessor calibration against the gold set, on a real review database (SQLite; PostgreSQL too when
PRESCREEN_TEST_POSTGRES_URL is set): only a lead marks gold and reads the true scores, a new assessor gets gold
reviews that look like live work and no live work until they pass, agreement is computed against the true
scores, assessors below the threshold are flagged, and gold never counts as a live result. Migration 0004 too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import inspect, text, update

from prescreen.audit import build_audit
from prescreen.badges import BadgeError, load_award
from prescreen.earner.standing import review_standing
from prescreen.review.calibration import Calibration
from prescreen.review.db import MIGRATIONS, FinalResult, Submission, upgrade
from prescreen.review.program import CalibrationSettings, ProgramSettings
from prescreen.review.workflow import InvalidInput, InvalidTransition, NotAllowed
from tests.audit_data import D, N, work
from tests.conftest import DETAILS

ALL_DEMONSTRATED = dict.fromkeys(DETAILS, D)
MIXED = {"EO1.1": D, "EO1.2": N, "EO2.1": D}


def policy(kit, **calibration) -> None:
    kit.service.program = ProgramSettings(calibration=CalibrationSettings(**calibration))


@pytest.fixture
def gold(kit):
    """A: final (ana and ben agreed, every detail demonstrated), marked gold from its final result. G: ingested,
    never assigned, marked gold with the lead's true scores (MIXED). Users dee and eve: new assessors."""
    a = kit.in_review(code="A")
    work(kit, "ana", a)
    work(kit, "ben", a)
    g = kit.ingest(code="G").id
    for name in ("dee", "eve"):
        kit.service.create_user(name, f"{name}-test-pass", "assessor")
    calibration = Calibration(kit.service)
    calibration.mark_gold("lead", a)
    calibration.mark_gold("lead", g, MIXED)
    kit.a, kit.g, kit.calibration = a, g, calibration
    return kit


def gold_review(kit, actor: str, sub: int, scores: dict) -> None:
    """Open, decide and score every detail as any assessor does, and submit."""
    kit.service.open(actor, sub)
    work(kit, actor, sub, scores={d: s for d, s in scores.items() if s != D})


# ---------------------------------------------------------------- marking gold, reading gold answers


def test_only_a_lead_marks_gold_and_reads_the_true_scores(gold):
    gold.service.create_user("erin", "erin-test-pass", "earner")
    b = gold.ingest(code="B").id
    calls = [(gold.calibration.mark_gold, (b, MIXED)), (gold.calibration.gold, ()), (gold.calibration.status, ()),
             (gold.calibration.assign, ("dee",)), (gold.calibration.require, ("dee",))]
    for who in ("ana", "erin"):
        for action, arguments in calls:
            with pytest.raises(NotAllowed, match="only leads"):
                action(who, *arguments)
    listed = {v.submission: v for v in gold.calibration.gold("lead")}
    assert (listed[gold.a].true_scores, listed[gold.a].source) == (ALL_DEMONSTRATED, "final")
    assert (listed[gold.g].true_scores, listed[gold.g].source) == (MIXED, "lead")


def test_true_scores_come_from_the_final_result_unless_the_lead_gives_them(gold):
    fresh = gold.ingest(code="F").id
    with pytest.raises(InvalidInput, match="no true score: EO1.1, EO1.2, EO2.1"):
        gold.calibration.mark_gold("lead", fresh)
    with pytest.raises(InvalidInput, match="has no final result"):
        gold.calibration.mark_gold("lead", fresh, from_final=True)
    with pytest.raises(InvalidInput, match="not details of it: EO9.9"):
        gold.calibration.mark_gold("lead", fresh, MIXED | {"EO9.9": D})
    with pytest.raises(InvalidInput, match="demonstrated or not_yet: EO1.1"):
        gold.calibration.mark_gold("lead", fresh, MIXED | {"EO1.1": "maybe"})
    with pytest.raises(InvalidInput, match="in the gold set already"):
        gold.calibration.mark_gold("lead", gold.a)
    busy = gold.in_review(code="R")
    with pytest.raises(InvalidTransition, match="in_review: mark it gold once it is final"):
        gold.calibration.mark_gold("lead", busy, MIXED)
    c = gold.in_review(code="C")
    work(gold, "ana", c)
    work(gold, "ben", c)
    changed = gold.calibration.mark_gold("lead", c, {"EO1.2": N})  # the final's scores, one changed by the lead
    assert (changed.true_scores, changed.source) == (MIXED, "lead")


# ---------------------------------------------------------------- gold reviews before live work


def test_a_gold_review_looks_like_live_work_and_never_shows_a_result(gold):
    with gold.engine.begin() as connection:  # A was ingested long ago
        connection.execute(update(Submission).where(Submission.id == gold.a)
                           .values(created_at=datetime.now(UTC) - timedelta(days=90)))
    assert gold.calibration.assign("lead", "dee") == [gold.a, gold.g]
    queue = gold.service.queue("dee")
    assert sorted((i.submission, i.state) for i in queue) == [(gold.a, "in_review"), (gold.g, "in_review")]
    assert all(i.age_days < 1 for i in queue)  # as old as the assignment, like live work
    view = gold.service.open("dee", gold.a)  # A is final, yet dee reads it in review with the draft as usual
    assert view.state == "in_review" and view.details[0].drafted_status == "evidenced"
    assert "gold" not in view.model_dump_json().lower()
    gold_review(gold, "dee", gold.a, ALL_DEMONSTRATED)
    assert gold.service.final_result("dee", gold.a) is None
    assert gold.service.open("dee", gold.a).state == "in_review"
    with pytest.raises(InvalidTransition, match="submitted .* already"):
        gold.service.score("dee", gold.a, "EO1.1", D)


def test_a_new_assessor_gets_no_live_work_until_passing_when_calibration_is_required(gold):
    policy(gold, required=True, gold_reviews=2, threshold=0.8)
    live = gold.ingest(code="L").id
    with pytest.raises(NotAllowed, match=r"ana has not passed calibration yet \(0 of 2 gold reviews"):
        gold.service.assign("lead", live, ["ana", "ben"])
    with pytest.raises(InvalidTransition, match="needs 2 assessors who passed calibration, there are 0"):
        gold.service.auto_assign("lead", live)
    assert gold.calibration.assign("lead", "ana") == [gold.g]  # never a gold submission she scored live (A)
    with pytest.raises(InvalidTransition, match="no gold submission is left that ana has not had"):
        gold.calibration.assign("lead", "ana")
    for name, g_scores in (("dee", MIXED), ("eve", MIXED | {"EO2.1": N})):
        gold.calibration.assign("lead", name)
        gold_review(gold, name, gold.a, ALL_DEMONSTRATED)
        with pytest.raises(NotAllowed, match=f"{name} has not passed calibration yet \\(1 of 2"):
            gold.service.assign("lead", live, [name, "cy"])
        gold_review(gold, name, gold.g, g_scores)
    status = {s.assessor: s for s in gold.calibration.status("lead")}
    assert (status["dee"].standing, status["dee"].live_work, status["dee"].stats.agreement) == ("passed", True, 1.0)
    # eve: 5 of 6 details agree = 83% >= 80%: passed
    assert (status["eve"].standing, status["eve"].stats.n) == ("passed", 6)
    assert status["eve"].stats.agreement == pytest.approx(5 / 6)
    assert status["ana"].standing == "in_calibration" and not status["ana"].live_work
    assert gold.service.auto_assign("lead", live).assigned_to == ["dee", "eve"]


def test_agreement_against_the_true_scores_and_the_flag_below_the_threshold(gold):
    policy(gold, gold_reviews=1, threshold=0.8)
    gold.calibration.assign("lead", "dee", 1)
    gold.service.create_user("fay", "fay-test-pass", "assessor")
    gold.calibration.assign("lead", "fay", 2)
    assert [i.submission for i in gold.service.queue("dee")] == [gold.a]
    gold_review(gold, "dee", gold.a, ALL_DEMONSTRATED)
    fay_g = {"EO1.1": D, "EO1.2": N, "EO2.1": N}
    gold_review(gold, "fay", gold.g, fay_g)  # G's truth is MIXED
    fay = {s.assessor: s for s in gold.calibration.status("lead")}["fay"]
    truth = list(MIXED.values())
    # by hand: p_o = 2/3; p_e = 2/3 * 1/3 + 1/3 * 2/3 = 4/9; kappa = (2/3 - 4/9) / (1 - 4/9) = 0.4
    assert (fay.stats.n, fay.stats.agreement, fay.stats.kappa) == (3, pytest.approx(2 / 3), pytest.approx(0.4))
    assert fay.stats.kappa == pytest.approx(cohen_kappa_score(list(fay_g.values()), truth))
    assert {d.detail_id: d.stats.agreement for d in fay.details} == {"EO1.1": 1.0, "EO1.2": 1.0, "EO2.1": 0.0}
    assert (fay.standing, fay.live_work, fay.open_gold) == ("below_threshold", False, 1)
    assert "67% of details, below the 80% threshold" in fay.why
    live = gold.ingest(code="L").id
    with pytest.raises(NotAllowed, match="fay agreed with the true scores on 67%"):
        gold.service.assign("lead", live, ["fay", "dee"])
    rows = {r.assessor: r for r in build_audit(gold.service.sessions, calibration=gold.service.program.calibration)
            .calibration}
    assert (rows["fay"].flagged, rows["dee"].flagged, rows["dee"].standing) == (True, False, "passed")
    assert "fay" not in gold.service.auto_assign("lead", live).assigned_to


def test_a_lead_asks_an_assessor_to_calibrate_again(gold):
    policy(gold, gold_reviews=1)
    live = gold.ingest(code="L").id
    status = gold.calibration.require("lead", "cy")
    assert (status.asked_by_lead, status.live_work, status.gold_reviews) == (True, False, 0)
    with pytest.raises(NotAllowed, match="cy has not passed calibration yet"):
        gold.service.assign("lead", live, ["cy", "ana"])
    gold.calibration.assign("lead", "cy", 1)
    gold_review(gold, "cy", gold.a, ALL_DEMONSTRATED)
    assert gold.service.assign("lead", live, ["cy", "ana"]).assigned_to == ["cy", "ana"]


# ---------------------------------------------------------------- gold never counts as a live result


def test_gold_is_never_a_live_result(gold):
    before = gold.service.final_result("lead", gold.a)
    for name in ("dee", "eve"):
        gold.calibration.assign("lead", name)
        gold_review(gold, name, gold.a, {**ALL_DEMONSTRATED, "EO1.1": N})
        gold_review(gold, name, gold.g, ALL_DEMONSTRATED)
    assert gold.count(FinalResult) == 1 and gold.service.final_result("lead", gold.a) == before
    lead_view = gold.service.lead_view("lead", gold.a)
    assert [a.username for a in lead_view.assessors] == ["ana", "ben"] and set(lead_view.assessor_scores) == {
        "ana", "ben"}
    assert gold.service.lead_view("lead", gold.g).state == "awaiting_assignment"  # two gold reviews settle nothing
    assert {i.submission for i in gold.service.queue("lead")}.isdisjoint({gold.a, gold.g})
    with pytest.raises(InvalidTransition, match="in the gold set: it is scored only in calibration"):
        gold.service.assign("lead", gold.g, ["cy", "ana"])
    audit = build_audit(gold.service.sessions)
    assert audit.flow.submissions == 0 and audit.assessors == [] and audit.coverage == []
    with pytest.raises(BadgeError, match="in the gold set"):
        load_award(gold.service.sessions, gold.a)
    standing = review_standing(gold.service.sessions, "A", 1)
    assert standing is not None and standing.status == "earned"
    assert {r.detail_id: r.score for r in standing.results} == ALL_DEMONSTRATED  # the gold reviews' not yet: never


def test_a_live_result_stays_in_the_audit_and_gets_a_badge_until_marked_gold(kit):
    a = kit.in_review(code="A")
    work(kit, "ana", a)
    work(kit, "ben", a)
    assert build_audit(kit.service.sessions).flow.final == 1
    assert load_award(kit.service.sessions, a).submission == a
    Calibration(kit.service).mark_gold("lead", a)
    assert build_audit(kit.service.sessions).flow.final == 0
    with pytest.raises(BadgeError, match="in the gold set"):
        load_award(kit.service.sessions, a)


# ---------------------------------------------------------------- the CLI


@pytest.fixture
def cli_db(tmp_path):
    from prescreen.review.db import database_url
    from prescreen.settings import Settings
    from tests.conftest import ReviewKit

    kit = ReviewKit(database_url(Settings()))
    a = kit.in_review(code="A")
    work(kit, "ana", a)
    work(kit, "ben", a)
    yield kit
    kit.engine.dispose()


def test_gold_and_calibration_commands(cli_db, monkeypatch):
    from click.testing import CliRunner

    from prescreen.cli import main

    runner = CliRunner()
    marked = runner.invoke(main, ["gold", "mark", "1", "--from-final"])
    assert marked.exit_code == 0 and marked.output == "#1\tA · attempt 1\tgold (true scores from final)\n"
    listed = runner.invoke(main, ["gold", "list"])
    assert listed.output == "#1\tA · attempt 1\t0 gold reviews\tEO1.1=demonstrated, EO1.2=demonstrated, " \
        "EO2.1=demonstrated\n"
    again = runner.invoke(main, ["gold", "mark", "1"])
    assert again.exit_code == 2 and "in the gold set already" in again.output and "Traceback" not in again.output
    bad = runner.invoke(main, ["gold", "mark", "1", "--score", "EO1.1"])
    assert bad.exit_code == 2 and "DETAIL=demonstrated" in bad.output
    assigned = runner.invoke(main, ["calibration", "assign", "cy", "--count", "1"])
    assert assigned.exit_code == 0 and assigned.output == "gold reviews assigned to cy: #1\n"
    monkeypatch.setenv("PRESCREEN_CALIBRATION_REQUIRED", "true")
    status = runner.invoke(main, ["calibration", "status"])
    assert status.exit_code == 0, status.output
    assert "cy\tin calibration\t0 gold reviews" in status.output and "NO live work" in status.output
    work(cli_db, "cy", 1, scores={"EO1.1": N, "EO1.2": N})
    monkeypatch.setenv("PRESCREEN_CALIBRATION_GOLD_REVIEWS", "1")
    flagged = runner.invoke(main, ["calibration", "status"])
    assert flagged.exit_code == 1 and "cy\tbelow threshold\t1 gold reviews\t33% agreement" in flagged.output
    required = runner.invoke(main, ["calibration", "require", "ana"])
    assert required.exit_code == 0 and required.output.startswith("ana: no live work until calibrated again")


# ---------------------------------------------------------------- migration 0004


def test_migration_0004_adds_the_gold_set_and_goes_down_and_up_again(db_url):
    from prescreen.review.db import make_engine

    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0004"
        columns = {c["name"] for c in inspect(engine).get_columns("assignments")}
        assert {"gold", "draft_hidden"} <= columns
        assert "calibrate_from" in {c["name"] for c in inspect(engine).get_columns("users")}
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0003")
        assert "gold_submissions" not in inspect(engine).get_table_names()
        assert "gold" not in {c["name"] for c in inspect(engine).get_columns("assignments")}
        upgrade(engine)
        assert "gold_submissions" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
