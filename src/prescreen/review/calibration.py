"""Assessor calibration: a gold set of submissions with true per-detail scores, which new assessors score blind,
as usual, before live work; their agreement with the true scores decides whether they get live work.

A gold review is an assignment marked `gold` on the gold submission: the assessor opens, decides, scores and
submits it like any other (its view says `in_review`, and no final result is ever shown for it), but it never
settles the submission, never reaches a final result, the lead's view, the audit's live tables or a badge.
The lead marks gold, reads the true scores, assigns gold reviews and reads everyone's calibration; nobody else.

The service calls the hooks here (check_live, live_assessors, require_state, seen_by, queue_seen_by) inside
its transactions; `Calibration(service)` holds the lead's actions, each one transaction of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from prescreen.audit.stats import Agreement, DetailAgreement, agreement
from prescreen.review import queries as q
from prescreen.review.anchoring import without_draft
from prescreen.review.db import Assignment, FinalResult, GoldSubmission, Score, Submission, User, aware, utcnow
from prescreen.review.errors import InvalidInput, InvalidTransition, NotAllowed
from prescreen.review.program import CalibrationSettings
from prescreen.review.rules import SCORES, Action, ScoreValue, label
from prescreen.review.rules import require_state as require_submission_state
from prescreen.review.views import AssessorView, QueueItem

if TYPE_CHECKING:
    from prescreen.review.service import ReviewService

Standing = Literal["passed", "below_threshold", "in_calibration"]
GoldSource = Literal["final", "lead"]
#: states in which a submission may join the gold set: before live review, or once it is final
MARKABLE = ("incomplete", "awaiting_assignment", "returned", "final")


class GoldView(BaseModel):
    """A gold submission with its true scores: the lead's eyes only."""

    submission: int
    label: str
    credential: str
    true_scores: dict[str, ScoreValue]
    source: GoldSource = Field(description="final: the final result's scores; lead: scores the lead gave.")
    marked_by: str
    marked_at: datetime
    reviews: int = Field(description="Gold reviews submitted on it.")


class CalibrationStatus(BaseModel):
    """One assessor's agreement with the true scores of the gold reviews they submitted, and what it allows."""

    assessor: str
    gold_reviews: int = Field(description="Gold reviews submitted (since the lead's request, when there is one).")
    open_gold: int = Field(description="Gold reviews assigned and not submitted yet.")
    stats: Agreement = Field(description="Every scored detail of those reviews against its true score.")
    details: list[DetailAgreement]
    standing: Standing
    asked_by_lead: bool = Field(description="A lead asked this assessor to calibrate (again).")
    live_work: bool = Field(description="May be assigned live submissions.")
    why: str = Field("", description="Why not, and what to do.")


# ---------------------------------------------------------------- reads inside a transaction


def gold_ids() -> Select:
    """The ids of the gold submissions, for `Submission.id.not_in(gold_ids())`."""
    return select(GoldSubmission.submission_id)


def gold_of(s: Session, submission: int) -> GoldSubmission | None:
    return s.scalar(select(GoldSubmission).where(GoldSubmission.submission_id == submission))


def _gold_reviews(s: Session, user: User) -> list[tuple[dict[str, str], dict[str, str]]]:
    """(the assessor's scores, the true scores) of each gold review they submitted since the lead's request."""
    query = (select(Assignment, GoldSubmission.true_scores_json)
             .join(GoldSubmission, GoldSubmission.submission_id == Assignment.submission_id)
             .where(Assignment.assessor_id == user.id, Assignment.gold.is_(True),
                    Assignment.submitted_at.is_not(None)))
    if user.calibrate_from is not None:
        query = query.where(Assignment.submitted_at >= user.calibrate_from)
    return [(_scores(s, assignment), json.loads(truth)) for assignment, truth in s.execute(query)]


def _scores(s: Session, assignment: Assignment) -> dict[str, str]:
    rows = s.execute(select(Score.detail_id, Score.score).where(Score.assignment_id == assignment.id))
    return {detail: score for detail, score in rows}


def _final_scores(s: Session, sub: Submission) -> dict[str, str] | None:
    """The final result's score per detail, or None before it has one."""
    stored = s.scalar(select(FinalResult.per_detail_json).where(FinalResult.submission_id == sub.id))
    return None if stored is None else {d: pair[0] for d, pair in json.loads(stored).items()}


def status_of(s: Session, user: User, settings: CalibrationSettings) -> CalibrationStatus:
    reviews = _gold_reviews(s, user)
    pairs = [(d, mine[d], truth[d]) for mine, truth in reviews for d in mine if d in truth]
    stats = agreement([p[1] for p in pairs], [p[2] for p in pairs])
    details = [DetailAgreement(detail_id=d, stats=agreement([p[1] for p in pairs if p[0] == d],
                                                              [p[2] for p in pairs if p[0] == d]))
               for d in sorted({p[0] for p in pairs})]
    open_gold = len(list(s.scalars(select(Assignment.id).where(
        Assignment.assessor_id == user.id, Assignment.gold.is_(True), Assignment.submitted_at.is_(None)))))
    standing = _standing(len(reviews), stats, settings)
    asked = user.calibrate_from is not None
    why = _why(user.username, standing, len(reviews), stats, settings, asked)
    return CalibrationStatus(assessor=user.username, gold_reviews=len(reviews), open_gold=open_gold, stats=stats,
                             details=details, standing=standing, asked_by_lead=asked, live_work=not why, why=why)


def _standing(reviews: int, stats: Agreement, settings: CalibrationSettings) -> Standing:
    if reviews < settings.gold_reviews:
        return "in_calibration"
    return "passed" if (stats.agreement or 0.0) >= settings.threshold else "below_threshold"


def _why(name: str, standing: Standing, reviews: int, stats: Agreement, settings: CalibrationSettings,
         asked: bool) -> str:
    """Why `name` gets no live work ('' when they may): below the threshold, or not calibrated yet when the
    program requires it or a lead asked for it."""
    if standing == "below_threshold":
        return (f"{name} agreed with the true scores on {stats.agreement or 0:.0%} of details, below the "
                f"{settings.threshold:.0%} threshold: assign more gold reviews (`prescreen calibration assign "
                f"{name}`) after talking it through, or ask for a fresh start (`prescreen calibration require {name}`)")
    if standing == "in_calibration" and (settings.required or asked):
        return (f"{name} has not passed calibration yet ({reviews} of {settings.gold_reviews} gold reviews "
                f"submitted): assign gold reviews first with `prescreen calibration assign {name}`")
    return ""


# ---------------------------------------------------------------- hooks of the service


def check_live(s: Session, sub: Submission, users: list[User], settings: CalibrationSettings) -> None:
    """Live assignment refuses a gold submission, and an assessor who may not do live work yet."""
    if gold_of(s, sub.id) is not None:
        raise InvalidTransition(f"{label(sub)} is in the gold set: it is scored only in calibration "
                                "(`prescreen calibration assign ASSESSOR`), never assigned live")
    for user in users:
        why = status_of(s, user, settings).why
        if why:
            raise NotAllowed(why)


def live_assessors(s: Session, settings: CalibrationSettings, how_many: int) -> list[User]:
    """The `how_many` least loaded assessors (queries.least_loaded's order) who may do live work."""
    active = len(list(s.scalars(select(User.id).where(User.role == "assessor", User.active))))
    ranked = q.least_loaded(s, max(active, how_many))
    held = {u.username: status_of(s, u, settings).why for u in ranked}
    chosen = [u for u in ranked if not held[u.username]]
    if len(chosen) < how_many:
        names = ", ".join(name for name, why in held.items() if why)
        raise InvalidTransition(f"auto-assign needs {how_many} assessors who passed calibration, there are "
                                f"{len(chosen)} ({names} not yet): see `prescreen calibration status`")
    return chosen[:how_many]


def require_state(sub: Submission, assignment: Assignment, action: Action) -> None:
    """The submission's state rules a live review; a gold review may be worked on until it is submitted."""
    if not assignment.gold:
        require_submission_state(sub, action)


def seen_by(assignment: Assignment, view: AssessorView) -> AssessorView:
    """What the assessor is shown: a gold review looks like live work in review; no draft when it is hidden."""
    if assignment.gold:
        view = view.model_copy(update={"state": "in_review"})
    return without_draft(view) if assignment.draft_hidden else view


def queue_seen_by(assignment: Assignment, item: QueueItem) -> QueueItem:
    """A gold review in the assessor's queue: in review, and as old as its assignment (a gold submission may be
    months old; live work reaches an assessor soon after ingest)."""
    if not assignment.gold:
        return item
    age = (utcnow() - aware(assignment.assigned_at)).total_seconds() / 86400
    return item.model_copy(update={"state": "in_review", "age_days": age})


# ---------------------------------------------------------------- the lead's actions


class Calibration:
    """Marking gold, reading the gold set, assigning gold reviews and reading calibration: lead only."""

    def __init__(self, service: ReviewService):
        self.service = service

    @property
    def settings(self) -> CalibrationSettings:
        return self.service.program.calibration

    @contextmanager
    def _as_lead(self, actor: str, doing: str) -> Iterator[tuple[Session, User]]:
        with self.service._tx() as s:
            yield s, self.service._actor(s, actor, "lead", doing)

    def mark_gold(self, actor: str, submission: int, scores: dict[str, str] | None = None,
                  from_final: bool = False) -> GoldView:
        """Adds the submission to the gold set. True scores: the final result's (`from_final`, or by default when
        it has one), with `scores` {detail: demonstrated | not_yet} given by the lead taking precedence."""
        with self._as_lead(actor, "mark gold submissions") as (s, lead):
            sub = self.service._submission(s, submission, lock=True)
            _check_markable(s, sub)
            final = _final_scores(s, sub)
            if from_final and final is None:
                raise InvalidInput(f"{label(sub)} has no final result: give its true scores instead")
            base = final or {}
            truth = base | ({} if from_final else scores or {})
            _check_truth(self.service.snapshots.latest(s, sub).detail_ids, truth)
            source: GoldSource = "final" if truth == base else "lead"
            gold = GoldSubmission(submission_id=sub.id, true_scores_json=json.dumps(truth), source=source,
                                  marked_by=lead.username)
            s.add(gold)
            q.audit(s, lead.username, "gold_mark", sub.id, note=f"true scores from {source}")
            s.flush()
            return _gold_view(s, sub, gold)

    def gold(self, actor: str) -> list[GoldView]:
        """The gold set with its true scores."""
        with self._as_lead(actor, "read the gold set") as (s, _):
            rows = s.execute(select(GoldSubmission, Submission).join(Submission).order_by(Submission.id))
            return [_gold_view(s, sub, gold) for gold, sub in rows]

    def assign(self, actor: str, assessor: str, count: int | None = None) -> list[int]:
        """Gold reviews for `assessor`: up to `count` (default: the program's gold_reviews) gold submissions they
        have never had; the ids assigned."""
        with self._as_lead(actor, "assign gold reviews") as (s, lead):
            user = self.service._assignable(s, assessor)
            seen = select(Assignment.submission_id).where(Assignment.assessor_id == user.id)
            fresh = list(s.scalars(gold_ids().where(GoldSubmission.submission_id.not_in(seen))
                                   .order_by(GoldSubmission.submission_id).limit(count or self.settings.gold_reviews)))
            if not fresh:
                raise InvalidTransition(f"no gold submission is left that {assessor} has not had: mark more with "
                                        "`prescreen gold mark SUBMISSION_ID`")
            for submission in fresh:
                s.add(Assignment(submission_id=submission, assessor_id=user.id, assigned_by=lead.username, gold=True))
                q.audit(s, lead.username, "assign", submission, note=f"{assessor} (gold review)")
            return fresh

    def require(self, actor: str, assessor: str) -> CalibrationStatus:
        """A lead asks `assessor` to calibrate (again): no live work until they pass on gold reviews from now on."""
        with self._as_lead(actor, "ask an assessor to calibrate") as (s, lead):
            user = self.service._assignable(s, assessor)
            user.calibrate_from = utcnow()
            q.audit(s, lead.username, "calibrate", note=assessor)
            s.flush()
            return status_of(s, user, self.settings)

    def status(self, actor: str) -> list[CalibrationStatus]:
        """Every active assessor's calibration."""
        with self._as_lead(actor, "read calibration") as (s, _):
            users = s.scalars(select(User).where(User.role == "assessor", User.active).order_by(User.username))
            return [status_of(s, u, self.settings) for u in users]


def _check_markable(s: Session, sub: Submission) -> None:
    if gold_of(s, sub.id) is not None:
        raise InvalidInput(f"{label(sub)} is in the gold set already")
    if sub.state not in MARKABLE:
        raise InvalidTransition(f"{label(sub)} is {sub.state}: mark it gold once it is final, or before it is "
                                "assigned")


def _check_truth(detail_ids: list[str], truth: dict[str, str]) -> None:
    unknown = sorted(set(truth) - set(detail_ids))
    missing = [d for d in detail_ids if d not in truth]
    wrong = sorted(d for d, score in truth.items() if score not in SCORES)
    if unknown or missing or wrong:
        problems = [f"not details of it: {', '.join(unknown)}"] if unknown else []
        problems += [f"no true score: {', '.join(missing)}"] if missing else []
        problems += [f"scores must be demonstrated or not_yet: {', '.join(wrong)}"] if wrong else []
        raise InvalidInput(f"every detail needs a true score ({'; '.join(problems)})")


def _gold_view(s: Session, sub: Submission, gold: GoldSubmission) -> GoldView:
    reviews = len(list(s.scalars(select(Assignment.id).where(
        Assignment.submission_id == sub.id, Assignment.gold.is_(True), Assignment.submitted_at.is_not(None)))))
    return GoldView(submission=sub.id, label=label(sub), credential=sub.credential,
                    true_scores=json.loads(gold.true_scores_json), source=gold.source, marked_by=gold.marked_by,
                    marked_at=aware(gold.marked_at), reviews=reviews)
