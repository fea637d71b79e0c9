"""What the audit reads from the review database: read-only queries, a handful per audit, never one per row.

Every drafted finding, assessor decision and score, adjudication and final result of the submissions that pass
the filter (credential, rubric version of the latest screening, ingest date) is loaded into plain records that
the statistics read. The database is never written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from prescreen.models import Rubric
from prescreen.review.db import (
    Adjudication,
    Assignment,
    AuditLog,
    Decision,
    FinalResult,
    Finding,
    GoldSubmission,
    Score,
    ScreeningRun,
    Submission,
    User,
    aware,
)


class AuditFilter(BaseModel):
    """Which submissions the audit covers. Dates are days of ingest (UTC), both ends included."""

    model_config = ConfigDict(extra="forbid")

    credential: str | None = Field(None, description="Only this credential (the rubric id).")
    rubric_version: str | None = Field(None, description="Only submissions last screened with this rubric version.")
    since: date | None = Field(None, description="Ingested on or after this day.")
    until: date | None = Field(None, description="Ingested on or before this day.")

    def describe(self) -> str:
        parts = [f"credential {self.credential}" if self.credential else "all credentials",
                 f"rubric version {self.rubric_version}" if self.rubric_version else "every rubric version"]
        if self.since or self.until:
            parts.append(f"ingested {self.since or 'any day'} to {self.until or 'today'}")
        return ", ".join(parts)


@dataclass
class Assessment:
    """One assessor's work on one submission."""

    assessor: str
    submitted: bool
    draft_hidden: bool = False  # the anchoring check hid the AI draft from this assessor
    scores: dict[str, str] = field(default_factory=dict)
    decisions: dict[str, tuple[str, str | None, str]] = field(default_factory=dict)  # action, new status, reason


@dataclass
class SubmissionFacts:
    id: int
    code: str
    credential: str
    attempt: int
    previous_id: int | None
    state: str
    created_at: datetime
    incomplete_reasons: list[str]
    rubric_version: str = ""
    drafted: dict[str, str] = field(default_factory=dict)  # detail -> evidenced | weak | missing
    final: dict[str, str] = field(default_factory=dict)  # detail -> demonstrated | not_yet, once final
    result: str | None = None  # earned | not_yet_earned, once final
    final_source: str | None = None  # agreement | adjudication
    decided_at: datetime | None = None
    adjudicated: set[str] = field(default_factory=set)
    assessments: list[Assessment] = field(default_factory=list)

    @property
    def is_final(self) -> bool:
        return self.result is not None

    @cached_property  # read once the facts are loaded; the statistics ask for it often
    def submitted(self) -> list[Assessment]:
        return [a for a in self.assessments if a.submitted]


@dataclass
class Returned:
    submission: int
    at: datetime
    reason: str


@dataclass
class AuditFacts:
    submissions: list[SubmissionFacts]
    returns: list[Returned]
    rubrics: dict[str, Rubric]  # credential -> the rubric of its latest screening run

    def detail_ids(self) -> list[str]:
        ids = {d for s in self.submissions for d in s.drafted} | {d for s in self.submissions for d in s.final}
        return sorted(ids, key=natural_key)

    def detail_text(self, detail_id: str) -> str:
        for rubric in self.rubrics.values():
            for detail in rubric.details:
                if detail.id == detail_id:
                    return detail.text
        return ""


def natural_key(detail_id: str) -> list:
    """EO1.2 before EO1.10: numbers compare as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", detail_id)]


# ---------------------------------------------------------------- queries


def latest_runs() -> Select:
    """(submission_id, run id, rubric version, rubric JSON, manifest JSON) of every submission's latest screening."""
    newest = (select(ScreeningRun.submission_id, func.max(ScreeningRun.version).label("version"))
              .group_by(ScreeningRun.submission_id).subquery())
    return (select(ScreeningRun.submission_id, ScreeningRun.id, ScreeningRun.rubric_version, ScreeningRun.rubric_json,
                   ScreeningRun.manifest_json)
            .join(newest, (ScreeningRun.submission_id == newest.c.submission_id)
                  & (ScreeningRun.version == newest.c.version)))


def _midnight(day: date) -> datetime:
    """The start of `day` in UTC (what the database stores), whatever the server's time zone."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def _filtered_ids(where: AuditFilter) -> Select:
    """Live submissions only: the gold set (calibration) never counts as a live result."""
    query = select(Submission.id).where(Submission.id.not_in(select(GoldSubmission.submission_id)))
    if where.credential:
        query = query.where(Submission.credential == where.credential)
    if where.since:
        query = query.where(Submission.created_at >= _midnight(where.since))
    if where.until:
        query = query.where(Submission.created_at < _midnight(where.until + timedelta(days=1)))
    if where.rubric_version:
        runs = latest_runs().subquery()
        query = (query.join(runs, runs.c.submission_id == Submission.id)
                 .where(runs.c.rubric_version == where.rubric_version))
    return query


def filter_choices(sessions: sessionmaker) -> tuple[list[str], list[str]]:
    """The credentials and rubric versions (of latest screenings) there are to filter by."""
    with sessions() as s:
        credentials = s.scalars(select(Submission.credential).distinct()).all()
        runs = latest_runs().subquery()
        versions = s.scalars(select(runs.c.rubric_version).distinct()).all()
        s.rollback()
    return sorted(c for c in credentials if c), sorted(v for v in versions if v)


def load_facts(sessions: sessionmaker, where: AuditFilter | None = None) -> AuditFacts:
    """Everything the audit needs about the submissions `where` selects, in one read-only transaction."""
    where = where or AuditFilter()
    with sessions() as s:
        ids = _filtered_ids(where).scalar_subquery()
        subs = {row.id: _submission(row) for row in s.scalars(select(Submission).where(Submission.id.in_(ids)))}
        rubrics = _add_runs(s, subs, ids)
        _add_finals(s, subs, ids)
        _add_assessments(s, subs, ids)
        returns = [Returned(e.submission_id, aware(e.at), e.note) for e in s.scalars(
            select(AuditLog).where(AuditLog.action == "return", AuditLog.submission_id.in_(ids)).order_by(AuditLog.id))]
        s.rollback()
    return AuditFacts(submissions=sorted(subs.values(), key=lambda f: f.id), returns=returns, rubrics=rubrics)


def _submission(row: Submission) -> SubmissionFacts:
    return SubmissionFacts(id=row.id, code=row.code, credential=row.credential, attempt=row.attempt,
                           previous_id=row.previous_id, state=row.state, created_at=aware(row.created_at),
                           incomplete_reasons=json.loads(row.incomplete_reasons or "[]"))


def _add_runs(s: Session, subs: dict[int, SubmissionFacts], ids) -> dict[str, Rubric]:
    runs = latest_runs().where(ScreeningRun.submission_id.in_(ids)).subquery()
    rubrics: dict[str, Rubric] = {}
    run_of: dict[int, int] = {}
    for sub_id, run_id, version, rubric_json, _ in s.execute(select(runs)):
        subs[sub_id].rubric_version = version
        run_of[run_id] = sub_id
        if rubric_json and subs[sub_id].credential not in rubrics:
            rubrics[subs[sub_id].credential] = Rubric.model_validate_json(rubric_json)
    findings = select(Finding.run_id, Finding.detail_id, Finding.status).where(Finding.run_id.in_(select(runs.c.id)))
    for run_id, detail_id, status in s.execute(findings):
        subs[run_of[run_id]].drafted[detail_id] = status
    return rubrics


def _add_finals(s: Session, subs: dict[int, SubmissionFacts], ids) -> None:
    for final in s.scalars(select(FinalResult).where(FinalResult.submission_id.in_(ids))):
        facts = subs[final.submission_id]
        facts.final = {d: pair[0] for d, pair in json.loads(final.per_detail_json).items()}
        facts.result, facts.final_source, facts.decided_at = final.result, final.source, aware(final.decided_at)
    for sub_id, detail_id in s.execute(select(Adjudication.submission_id, Adjudication.detail_id)
                                       .where(Adjudication.submission_id.in_(ids))):
        subs[sub_id].adjudicated.add(detail_id)


def _add_assessments(s: Session, subs: dict[int, SubmissionFacts], ids) -> None:
    by_id: dict[int, Assessment] = {}
    live = Assignment.submission_id.in_(ids) & Assignment.gold.is_(False)
    query = (select(Assignment.id, Assignment.submission_id, Assignment.submitted_at, Assignment.draft_hidden,
                    User.username).join(User, User.id == Assignment.assessor_id).where(live).order_by(Assignment.id))
    for assignment_id, sub_id, submitted_at, hidden, username in s.execute(query):
        by_id[assignment_id] = Assessment(assessor=username, submitted=submitted_at is not None, draft_hidden=hidden)
        subs[sub_id].assessments.append(by_id[assignment_id])
    assignment_ids = select(Assignment.id).where(live)
    for assignment_id, detail_id, score in s.execute(
            select(Score.assignment_id, Score.detail_id, Score.score).where(Score.assignment_id.in_(assignment_ids))):
        by_id[assignment_id].scores[detail_id] = score
    decisions = select(Decision.assignment_id, Decision.detail_id, Decision.action, Decision.new_status,
                       Decision.reason).where(Decision.assignment_id.in_(assignment_ids))
    for assignment_id, detail_id, action, new_status, reason in s.execute(decisions):
        by_id[assignment_id].decisions[detail_id] = (action, new_status, reason)
