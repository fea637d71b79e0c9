"""Storage of the review workflow on SQLite and PostgreSQL: migrations, configuration, the append-only audit
log, crash safety of ingest, and two assessors (or two threads) writing at the same moment."""

from __future__ import annotations

import importlib
import importlib.util
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from prescreen.review import queries, workflow
from prescreen.review.db import (
    MIGRATIONS,
    AuditLog,
    Base,
    Decision,
    FinalResult,
    Finding,
    Score,
    ScreeningRun,
    Submission,
    database_url,
    make_engine,
    upgrade,
)
from prescreen.settings import Settings
from tests.conftest import DETAILS

TABLES = {"users", "submissions", "screening_runs", "findings", "assignments", "decisions", "scores",
          "adjudications", "final_results", "audit_log"}
MODEL_MODULES = ("prescreen.review.db", "prescreen.earner.store")


# ---------------------------------------------------------------- migrations and configuration


def _head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def test_migrations_make_the_models_schema_and_run_twice(db_url):
    for module in MODEL_MODULES:  # every model on the review database's Base, wherever it is declared
        if importlib.util.find_spec(module):
            importlib.import_module(module)
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        upgrade(engine)  # at head already: nothing to do
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == _head_revision()
    finally:
        engine.dispose()


def test_database_url_defaults_to_sqlite_in_the_data_dir(tmp_path, monkeypatch):
    assert database_url(Settings()) == f"sqlite:///{tmp_path / 'data' / 'review.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example/prescreen")
    assert database_url(Settings()) == "postgresql+psycopg://u@db.example/prescreen"
    monkeypatch.setenv("PRESCREEN_DATABASE_URL", "postgres://v@db.example/other")
    assert database_url(Settings()) == "postgresql+psycopg://v@db.example/other"


def test_sqlite_waits_for_writers_instead_of_failing(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'review.sqlite'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_service_from_settings_migrates_the_default_database(tmp_path):
    service = workflow.ReviewService.from_settings(Settings())
    assert (tmp_path / "data" / "review.sqlite").is_file()
    assert service.assessors() == []


def test_the_audit_log_is_append_only_in_the_database(kit):
    kit.ingest()
    assert kit.count(AuditLog) >= 1
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), kit.engine.begin() as connection:
            connection.execute(text(statement))
    assert "mallory" not in {e.actor for e in kit.service.audit("lead")}


# ---------------------------------------------------------------- a crash mid-ingest leaves nothing


def _counts(kit) -> tuple[int, ...]:
    return tuple(kit.count(model) for model in (Submission, ScreeningRun, Finding, AuditLog))


def test_a_screening_that_fails_stores_nothing(kit):
    before = _counts(kit)

    def crash(path):
        raise RuntimeError("the embedder crashed")

    kit.service.screen = crash
    with pytest.raises(RuntimeError):
        kit.service.ingest("lead", "/bundles/crash")
    assert _counts(kit) == before


def test_a_crash_after_the_rows_are_written_rolls_all_of_them_back(kit, monkeypatch):
    before = _counts(kit)
    real_audit = queries.audit

    def crash_on_ingest(s, actor, action, *args, **kwargs):
        if action == "ingest":
            s.flush()  # submission, run and findings are in the database's transaction now
            assert s.query(Finding).count() == len(DETAILS)
            raise OSError("disk full")
        return real_audit(s, actor, action, *args, **kwargs)

    monkeypatch.setattr(queries, "audit", crash_on_ingest)
    with pytest.raises(OSError):
        kit.ingest()
    assert _counts(kit) == before
    monkeypatch.setattr(queries, "audit", real_audit)
    assert kit.ingest().id is not None  # nothing half-written stands in the way of the next try


# ---------------------------------------------------------------- concurrency


def _at_once(*calls):
    """Run the calls in threads released together; re-raise the first error."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, call) for call in calls]]


def test_two_assessors_saving_at_the_same_moment_lose_nothing(kit):
    sub = kit.in_review()

    def work(actor):
        def save_all():
            for round_ in range(3):
                for detail in DETAILS:
                    kit.service.decide(actor, sub, detail, "override", "missing", f"{actor} {round_}")
                    kit.service.score(actor, sub, detail, "not_yet", f"{actor} round {round_}")
        return save_all

    _at_once(work("ana"), work("ben"))
    assert kit.count(Decision) == 2 * len(DETAILS) and kit.count(Score) == 2 * len(DETAILS)
    for actor in ("ana", "ben"):
        view = kit.service.open(actor, sub)
        assert all(d.score is not None and d.score.feedback == f"{actor} round 2" for d in view.details)
        assert all(d.decision is not None and d.decision.reason == f"{actor} 2" for d in view.details)


def test_the_same_detail_saved_twice_at_once_is_one_row(kit):
    sub = kit.in_review()
    _at_once(*(lambda n=n: kit.service.score("ana", sub, "EO1.1", "not_yet", f"try {n}") for n in range(4)))
    assert kit.count(Score) == 1


def test_both_submitting_at_once_finalizes_exactly_once(kit):
    for _ in range(3):
        sub = kit.in_review(code=f"S-{kit.count(Submission)}")
        kit.complete("ana", sub, submit=False)
        kit.complete("ben", sub, submit=False)
        _at_once(*(partial(kit.service.submit, actor, sub, "earned") for actor in ("ana", "ben")))
        assert kit.service.lead_view("lead", sub).state == "final"
        assert sum(e.action == "finalize" for e in kit.service.audit("lead", sub)) == 1
    assert kit.count(FinalResult) == 3


def test_a_second_final_result_is_refused_by_the_database(kit):
    sub = kit.in_review()
    kit.complete("ana", sub)
    kit.complete("ben", sub)
    with pytest.raises(DBAPIError), kit.service.sessions.begin() as session:
        session.add(FinalResult(submission_id=sub, result="earned", per_detail_json="{}", source="agreement",
                                decided_by="someone"))


def test_the_same_new_bundle_ingested_twice_at_once_is_one_submission(kit):
    from prescreen.review.workflow import InvalidTransition
    from tests.conftest import make_screening

    kit.screenings["/bundles/same"] = make_screening()

    def ingest():
        try:
            return kit.service.ingest("lead", "/bundles/same").screening_runs
        except InvalidTransition as exc:
            return str(exc)

    outcomes = _at_once(ingest, ingest)
    assert 1 in outcomes and kit.count(Submission) == 1
    assert set(outcomes) <= {1, 2, "same was ingested by another action at the same moment: "
                                   "ingest it again to add a screening run"}
