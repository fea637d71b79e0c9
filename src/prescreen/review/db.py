"""Storage of the review workflow: engine, sessions, ORM models and migrations.

SQLite (a file in the data directory) by default; `DATABASE_URL` / `PRESCREEN_DATABASE_URL` switches to
PostgreSQL through the same code. The schema is made by Alembic migrations (review/migrations/), never by
`create_all`, so a database always says which version it is at.

Every action of the workflow is one short transaction. On SQLite each transaction starts with
`BEGIN IMMEDIATE` and waits (busy timeout) for the writer before it, so writers queue instead of failing;
on PostgreSQL the workflow locks the submission row (`SELECT ... FOR UPDATE`) where order matters.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import overload

from sqlalchemy import (
    Boolean,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

from prescreen.settings import Settings

BUSY_TIMEOUT_S = 30
MIGRATIONS = Path(__file__).parent / "migrations"


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
@overload
def aware(value: datetime | None) -> datetime | None: ...


def aware(value: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes: they were stored as UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


# ---------------------------------------------------------------- engine and sessions


def database_url(settings: Settings) -> str:
    """The configured URL, or a SQLite file in the data directory; plain `postgresql://` uses psycopg 3."""
    url = settings.database_url or f"sqlite:///{settings.data_dir / 'review.sqlite'}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True)


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy, not pysqlite, says when transactions begin
        for pragma in ("journal_mode=WAL", f"busy_timeout={BUSY_TIMEOUT_S * 1000}", "foreign_keys=ON"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock now: no deadlock on upgrade

    return engine


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database's schema to `revision` with the Alembic migrations shipped in the package."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


# ---------------------------------------------------------------- models


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # lead | assessor
    display_name: Mapped[str] = mapped_column(String(128), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    calibrate_from: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), doc="Set when a lead asks the assessor to (re)calibrate: only gold reviews "
        "submitted since count.")


class Submission(Base):
    """One attempt of one earner at one credential, and where it stands in the workflow."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("code", "attempt", name="uq_submissions_code_attempt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(128), doc="The manifest's submission_id (or the bundle name).")
    credential: Mapped[str] = mapped_column(String(128), default="")
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    earner_key: Mapped[str | None] = mapped_column(String(64), index=True, doc="sha256 of the e-mail: links attempts.")
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    state: Mapped[str] = mapped_column(String(32), index=True)
    readiness: Mapped[str] = mapped_column(String(16))
    incomplete_reasons: Mapped[str] = mapped_column(Text, default="[]", doc="JSON list of the pre-check's reasons.")
    returned_reason: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(Text, default="", doc="Where the bundle was ingested from.")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)



class ScreeningRun(Base):
    """One screening of the submission: a re-screen adds a version, nothing is overwritten."""

    __tablename__ = "screening_runs"
    __table_args__ = (UniqueConstraint("submission_id", "version", name="uq_runs_submission_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    readiness: Mapped[str] = mapped_column(String(16))
    rubric_id: Mapped[str] = mapped_column(String(128), default="")
    rubric_version: Mapped[str] = mapped_column(String(32), default="")
    report_json: Mapped[str] = mapped_column(Text)
    sources_json: Mapped[str] = mapped_column(Text, doc="{id: Source}: the text with provenance.")
    manifest_json: Mapped[str | None] = mapped_column(Text, doc="Identity included: never sent to assessors.")
    rubric_json: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)



class Finding(Base):
    """A drafted finding of a run, one row per detail (the report JSON holds the citations)."""

    __tablename__ = "findings"
    __table_args__ = (UniqueConstraint("run_id", "detail_id", name="uq_findings_run_detail"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("screening_runs.id"), index=True)
    detail_id: Mapped[str] = mapped_column(String(64))
    outcome_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("submission_id", "assessor_id", name="uq_assignments_submission_assessor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    assessor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by: Mapped[str] = mapped_column(String(64))
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recommendation: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    gold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(),
                                       doc="A calibration review of a gold submission: never a live result.")
    draft_hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(),
                                               doc="The anchoring check hid the AI draft from this assessor.")

    assessor: Mapped[User] = relationship()


class Decision(Base):
    """An assessor's verdict on a drafted finding: confirm it, or override its status with a reason."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("assignment_id", "detail_id", name="uq_decisions_assignment_detail"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    detail_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # confirm | override
    new_status: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Score(Base):
    """An assessor's blind score of a detail, with feedback for the earner."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("assignment_id", "detail_id", name="uq_scores_assignment_detail"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    detail_id: Mapped[str] = mapped_column(String(64))
    score: Mapped[str] = mapped_column(String(16))  # demonstrated | not_yet
    feedback: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Adjudication(Base):
    """The lead's score of a detail the two assessors disagreed on."""

    __tablename__ = "adjudications"
    __table_args__ = (UniqueConstraint("submission_id", "detail_id", name="uq_adjudications_submission_detail"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    detail_id: Mapped[str] = mapped_column(String(64))
    score: Mapped[str] = mapped_column(String(16))
    feedback: Mapped[str] = mapped_column(Text, default="")
    lead: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FinalResult(Base):
    """Recorded exactly once per submission (unique), with who decided and when."""

    __tablename__ = "final_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), unique=True)
    result: Mapped[str] = mapped_column(String(16))  # earned | not_yet_earned
    per_detail_json: Mapped[str] = mapped_column(Text, doc="{detail_id: [score, feedback]}")
    source: Mapped[str] = mapped_column(String(16))  # agreement | adjudication
    decided_by: Mapped[str] = mapped_column(String(160))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GoldSubmission(Base):
    """A submission in the gold set, with its true per-detail scores: assessors calibrate against it."""

    __tablename__ = "gold_submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), unique=True)
    true_scores_json: Mapped[str] = mapped_column(Text, doc="{detail_id: demonstrated | not_yet}")
    source: Mapped[str] = mapped_column(String(16))  # final | lead
    marked_by: Mapped[str] = mapped_column(String(64))
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditLog(Base):
    """Append-only: the code never updates or deletes a row, and database triggers refuse it."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    detail_id: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
