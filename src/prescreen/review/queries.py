"""The workflow's reads and writes over a session: audit entries, upserts, each assessor's decisions and
scores, adjudications, final results, progress, load, and the checks that need the database (same earner,
earlier attempt). The service opens the transactions; these run inside them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from prescreen.models import Manifest
from prescreen.review.db import (
    Adjudication,
    Assignment,
    AuditLog,
    Decision,
    FinalResult,
    Finding,
    Score,
    ScreeningRun,
    Submission,
    User,
    aware,
)
from prescreen.review.errors import InvalidInput, InvalidTransition
from prescreen.review.rules import DecisionView, ScoreView, different_earners, label
from prescreen.review.views import AssessorStatus, FinalResultView

AUDIT_ACTOR_CHARS = 64  # the column's size
AUDIT_NOTE_CHARS = 4000  # a return reason or a comment: enough to read, never megabytes
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def audit(s: Session, actor: str, action: str, submission: int | None = None, detail: str | None = None,
           note: str = "") -> None:
    """Appends one entry, with the actor and the note capped (AUDIT_ACTOR_CHARS, AUDIT_NOTE_CHARS). There is no
    update, delete or replace path: the database refuses all three (triggers)."""
    s.add(AuditLog(actor=capped(actor, AUDIT_ACTOR_CHARS), action=action, submission_id=submission,
                   detail_id=detail, note=capped(note, AUDIT_NOTE_CHARS)))


def capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def upsert(s: Session, model, keys: dict, values: dict) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE: two saves of the same detail never collide."""
    insert = postgresql_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(model).values(**keys, **values)
    s.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=values))

def assignments(s: Session, sub: Submission) -> list[Assignment]:
    """The submission's live assignments (gold reviews, for calibration, are never among them)."""
    return list(s.scalars(select(Assignment).where(Assignment.submission_id == sub.id, Assignment.gold.is_(False))
                          .order_by(Assignment.id)))


def decisions(s: Session, assignment: Assignment) -> dict[str, DecisionView]:
    rows = s.execute(select(Decision.detail_id, Decision.action, Decision.new_status, Decision.reason)
                     .where(Decision.assignment_id == assignment.id))
    return {detail: DecisionView(action=action, new_status=status, reason=reason)
            for detail, action, status, reason in rows}


def scores(s: Session, assignment: Assignment) -> dict[str, ScoreView]:
    rows = s.execute(select(Score.detail_id, Score.score, Score.feedback).where(Score.assignment_id == assignment.id))
    return {detail: ScoreView(score=score, feedback=feedback) for detail, score, feedback in rows}


def adjudications(s: Session, sub: Submission) -> dict[str, ScoreView]:
    rows = s.execute(select(Adjudication.detail_id, Adjudication.score, Adjudication.feedback)
                     .where(Adjudication.submission_id == sub.id))
    return {detail: ScoreView(score=score, feedback=feedback) for detail, score, feedback in rows}


def per_detail_json(per_detail: dict[str, ScoreView]) -> str:
    """A final result's scores as stored: {detail_id: [score, feedback]} (badges and the audit read it so)."""
    return json.dumps({d: [v.score, v.feedback] for d, v in per_detail.items()})


def per_detail_of(stored: str) -> dict[str, ScoreView]:
    return {d: ScoreView(score=score, feedback=feedback) for d, (score, feedback) in json.loads(stored).items()}


def final_view(s: Session, sub: Submission) -> FinalResultView | None:
    final = s.scalar(select(FinalResult).where(FinalResult.submission_id == sub.id))
    if final is None:
        return None
    return FinalResultView(
        result=final.result, per_detail=per_detail_of(final.per_detail_json),
        decided_by=final.decided_by, decided_at=aware(final.decided_at), source=final.source,
    )


def detail_count(s: Session, sub: Submission) -> int:
    latest = (select(ScreeningRun.id).where(ScreeningRun.submission_id == sub.id)
              .order_by(ScreeningRun.version.desc()).limit(1).scalar_subquery())
    return s.scalar(select(func.count(Finding.id)).where(Finding.run_id == latest)) or 0


def progress(s: Session, assignment: Assignment, n: int) -> str:
    if assignment.submitted_at is not None:
        return "submitted"
    decided = s.scalar(select(func.count(Decision.id)).where(Decision.assignment_id == assignment.id))
    scored = s.scalar(select(func.count(Score.id)).where(Score.assignment_id == assignment.id))
    return f"{decided}/{n} decided, {scored}/{n} scored"


def assessor_status(s: Session, assignment: Assignment) -> AssessorStatus:
    user = assignment.assessor
    return AssessorStatus(
        username=user.username, display_name=user.display_name, submitted=assignment.submitted_at is not None,
        submitted_at=aware(assignment.submitted_at), recommendation=assignment.recommendation,
        decided=len(decisions(s, assignment)), scored=len(scores(s, assignment)),
    )


def least_loaded(s: Session, how_many: int) -> list[User]:
    """Active assessors with the fewest open (unsubmitted) assignments; ties: least recently assigned, then name."""
    open_count = func.sum(case((Assignment.id.is_not(None) & Assignment.submitted_at.is_(None), 1), else_=0))
    rows = list(s.execute(
        select(User, open_count, func.max(Assignment.assigned_at))
        .outerjoin(Assignment, Assignment.assessor_id == User.id)
        .where(User.role == "assessor", User.active).group_by(User.id)
    ))
    if len(rows) < how_many:
        raise InvalidTransition(f"auto-assign needs {how_many} active assessors, there are {len(rows)}: "
                                "add some with `prescreen users add NAME --role assessor`")
    rows.sort(key=lambda r: (r[1] or 0, aware(r[2]) or _EPOCH, r[0].username))
    return [user for user, _, _ in rows[:how_many]]


def previous_attempt_of(s: Session, code: str, credential: str, key: str | None, attempt: int) -> Submission | None:
    """The latest earlier attempt at the same credential by the same earner (e-mail) or with the same id."""
    same_earner = Submission.code == code if key is None else (Submission.code == code) | (Submission.earner_key == key)
    return s.scalar(select(Submission).where(same_earner, Submission.credential == credential,
                                             Submission.attempt < attempt)
                    .order_by(Submission.attempt.desc(), Submission.id.desc()).limit(1))


def check_same_earner(s: Session, sub: Submission, manifest: Manifest | None) -> None:
    """InvalidInput when the bundle's earner is not the submission's: the same submission_id from another
    earner is never a re-ingest or a next attempt (nothing is changed; the transaction is rolled back)."""
    manifest_json = s.scalar(select(ScreeningRun.manifest_json).where(ScreeningRun.submission_id == sub.id)
                             .order_by(ScreeningRun.version.desc()).limit(1))
    if manifest is None or manifest_json is None:
        return
    if different_earners(Manifest.model_validate_json(manifest_json).earner, manifest.earner):
        raise InvalidInput(f"{label(sub)} belongs to another earner: this bundle names a different earner under "
                           "the same submission_id, so it was not ingested and the queue is unchanged; check "
                           "submission_id in its submission.yaml")


def check_previous(s: Session, previous: Submission, attempt: int) -> None:
    if previous.state not in ("final", "returned"):
        raise InvalidTransition(f"{label(previous)} is still {previous.state}: attempt {attempt} can be "
                                "ingested once the earlier attempt has a final result")
    final = final_view(s, previous)
    if final is not None and final.result == "earned":
        raise InvalidTransition(f"{label(previous)} earned the credential already: no further attempt is needed")


