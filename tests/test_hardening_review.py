"""Review record integrity: the audit log cannot be replaced, a submission_id cannot change hands, and failed
sign-ins neither fill the log nor go unthrottled. SQLite and PostgreSQL (PRESCREEN_TEST_POSTGRES_URL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from prescreen.models import Earner
from prescreen.review.accounts import FREE_FAILURES, LoginThrottle
from prescreen.review.db import AuditLog, ScreeningRun
from prescreen.review.workflow import AuthError, InvalidInput
from tests.conftest import make_screening

# ---------------------------------------------------------------- the audit log refuses replacement


def _first_entry(kit) -> tuple[int, str]:
    with kit.engine.connect() as connection:
        return connection.execute(select(AuditLog.id, AuditLog.note).order_by(AuditLog.id).limit(1)).one()


def _rewrite_statement(dialect: str, entry_id: int) -> str:
    columns = "(id, at, actor, action, note) VALUES ({id}, CURRENT_TIMESTAMP, 'mallory', 'create_user', 'forged')"
    if dialect == "sqlite":
        return f"REPLACE INTO audit_log {columns.format(id=entry_id)}"
    return (f"INSERT INTO audit_log {columns.format(id=entry_id)} "
            "ON CONFLICT (id) DO UPDATE SET note = EXCLUDED.note, actor = EXCLUDED.actor")


def test_replace_or_upsert_cannot_rewrite_an_audit_entry(kit):
    entry_id, note = _first_entry(kit)
    statement = _rewrite_statement(kit.engine.dialect.name, entry_id)
    with pytest.raises(DBAPIError, match="append-only"), kit.engine.begin() as connection:
        connection.execute(text(statement))
    assert _first_entry(kit) == (entry_id, note)


def test_sqlite_upsert_cannot_rewrite_an_audit_entry(kit):
    if kit.engine.dialect.name != "sqlite":
        pytest.skip("REPLACE is SQLite's; PostgreSQL's upsert is the test above")
    entry_id, note = _first_entry(kit)
    statement = _rewrite_statement("postgresql", entry_id)
    with pytest.raises(DBAPIError, match="append-only"), kit.engine.begin() as connection:
        connection.execute(text(statement))
    assert _first_entry(kit) == (entry_id, note)


def test_new_audit_entries_are_still_appended(kit):
    before = kit.count(AuditLog)
    kit.ingest()
    assert kit.count(AuditLog) == before + 1


# ---------------------------------------------------------------- a submission_id never changes hands


def other_earner(**kwargs):
    """A screening of the same submission_id by someone else: another name and another e-mail."""
    screening = make_screening(**kwargs)
    manifest = screening.bundle.manifest
    earner = Earner(name="Morgan Lee", email="mlee@example.org", organization="Harbor Middle School")
    screening.bundle = screening.bundle.model_copy(update={"manifest": manifest.model_copy(update={"earner": earner})})
    return screening


def test_same_submission_id_from_another_earner_is_refused_and_changes_nothing(kit):
    first = kit.ingest()
    runs, audit = kit.count(ScreeningRun), kit.count(AuditLog)
    with pytest.raises(InvalidInput, match="belongs to another earner"):
        kit.ingest(other_earner())
    assert (kit.count(ScreeningRun), kit.count(AuditLog)) == (runs, audit)
    assert kit.service.queue("lead")[0].state == first.state


def test_same_submission_id_same_earner_is_a_reingest(kit):
    kit.ingest()
    assert kit.ingest(make_screening(email="TNakamura@example.org")).screening_runs == 2  # typed differently
    assert kit.ingest(make_screening(email="teresa@new-district.org")).screening_runs == 3  # a new address, same name


def test_next_attempt_from_another_earner_under_the_same_id_is_refused(kit):
    sub = kit.in_review()
    for who in ("ana", "ben"):
        kit.complete(who, sub, scores={"EO1.2": "not_yet"})
    with pytest.raises(InvalidInput, match="belongs to another earner"):
        kit.ingest(other_earner(attempt=2))


# ---------------------------------------------------------------- failed sign-ins


def test_a_huge_typed_username_is_capped_in_the_audit_log(kit):
    with pytest.raises(AuthError):
        kit.service.authenticate("x" * 5_000_000, "wrong-password")
    entries = [e for e in kit.service.audit("lead") if e.action == "login_failed"]
    assert len(entries[-1].actor) <= 64 and entries[-1].actor.endswith("…")


def test_failed_sign_ins_are_throttled_per_user_with_a_growing_delay(kit):
    clock = FakeClock()
    kit.service.throttle = LoginThrottle(clock=clock)
    for _ in range(FREE_FAILURES):
        with pytest.raises(AuthError, match="wrong password"):
            kit.service.authenticate("ana", "wrong-password")
    waits = []
    for _ in range(4):
        with pytest.raises(AuthError, match="wrong password"):
            kit.service.authenticate("ana", "wrong-password")
        with pytest.raises(AuthError, match="too many failed sign-ins"):
            kit.service.authenticate("ana", "ana-test-pass")  # even the right password waits
        waits.append(kit.service.throttle.wait_s("ana"))
        clock.now += waits[-1]
    assert waits == sorted(waits) and waits[-1] > waits[0]
    assert kit.service.authenticate("ana", "ana-test-pass").username == "ana"
    assert kit.service.throttle.wait_s("ana") == 0
    assert kit.service.authenticate("ben", "ben-test-pass").username == "ben"  # others were never slowed


def test_failed_sign_ins_are_throttled_per_address_across_usernames():
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock)
    for i in range(FREE_FAILURES + 1):
        throttle.failed(f"user{i}", "203.0.113.9")
    assert throttle.wait_s("a-new-name", "203.0.113.9") > 0
    assert throttle.wait_s("a-new-name", "198.51.100.1") == 0


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
