"""What each role reads, built from the database inside the service's transaction: the submission as the lead
lists it, the assessor's blind view, the lead's full view, the previous attempt, the queue's items, and the
final result as an assessor reads it. Permissions are the service's; this only assembles.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prescreen.review import queries as q
from prescreen.review.blind import Mask, Snapshot, Snapshots, unmasked
from prescreen.review.calibration import queue_seen_by, seen_by
from prescreen.review.db import Assignment, ScreeningRun, Submission, aware, utcnow
from prescreen.review.errors import NotFound
from prescreen.review.rules import BLIND_DECIDED_BY, DecisionView, ScoreView, compare, label
from prescreen.review.views import (
    ArtifactView,
    AssessorView,
    FinalResultView,
    LeadView,
    PlaceView,
    PreviousAttempt,
    PreviousDetail,
    QueueItem,
    SourceView,
    SubmissionView,
    adjudication_items,
    detail_view,
    flags,
    place_view,
    source_view,
)


class Reader:
    """Builds views over one session; masks through the snapshots' Maskers."""

    def __init__(self, snapshots: Snapshots):
        self.snapshots = snapshots

    def submission_view(self, s: Session, sub: Submission) -> SubmissionView:
        reasons = json.loads(sub.incomplete_reasons)
        runs = s.scalar(select(func.count(ScreeningRun.id)).where(ScreeningRun.submission_id == sub.id))
        return SubmissionView(
            id=sub.id, label=label(sub), code=sub.code, credential=sub.credential, attempt=sub.attempt,
            state=sub.state, readiness=sub.readiness, incomplete=bool(reasons), incomplete_reasons=reasons,
            assigned_to=[a.assessor.username for a in q.assignments(s, sub)], previous=sub.previous_id,
            screening_runs=runs, returned_reason=sub.returned_reason, created_at=aware(sub.created_at),
        )

    @staticmethod
    def warm(snap: Snapshot) -> None:
        """Mask ahead what an assessor's first opening shows (kept in the snapshot's Masker), so it opens fast."""
        for finding in snap.report.details:
            detail_view(snap, finding, snap.mask, None, None)
        flags(snap.report, snap.mask)

    def assessor_view(self, s: Session, sub: Submission, assignment: Assignment) -> AssessorView:
        """Masked, and only the actor's own decisions and scores: blind to the earner and the other assessor."""
        snap = self.snapshots.latest(s, sub)
        fields = self._view_fields(s, sub, snap, snap.mask, q.decisions(s, assignment), q.scores(s, assignment))
        view = AssessorView(**fields, submitted=assignment.submitted_at is not None,
                            recommendation=assignment.recommendation, comment=snap.mask(assignment.comment))
        return seen_by(assignment, view)  # a gold review looks live; the anchoring check may hide the draft

    def lead_view(self, s: Session, sub: Submission) -> LeadView:
        """Unmasked; both assessors' work (and the disputes) only once both have submitted."""
        snap, assignments = self.snapshots.latest(s, sub), q.assignments(s, sub)
        both = len(assignments) == 2 and all(a.submitted_at is not None for a in assignments)
        scores = {a.assessor.username: q.scores(s, a) for a in assignments} if both else {}
        decisions = {a.assessor.username: q.decisions(s, a) for a in assignments} if both else {}
        fields = self._view_fields(s, sub, snap, unmasked, {}, {})
        disputed, adjudications = compare(*scores.values())[1] if both else [], q.adjudications(s, sub)
        return LeadView(
            **fields, submitted=both, earner=snap.manifest.earner if snap.manifest else None,
            incomplete_reasons=json.loads(sub.incomplete_reasons), returned_reason=sub.returned_reason,
            assessors=[q.assessor_status(s, a) for a in assignments], assessor_scores=scores,
            assessor_decisions=decisions, disputed=disputed, adjudications=adjudications, final=q.final_view(s, sub),
            adjudication=adjudication_items(fields["details"], disputed, decisions, scores, adjudications),
        )

    def blind_final(self, s: Session, sub: Submission) -> FinalResultView | None:
        """The final result as an assessor reads it: feedback masked, who decided named by role, never by name."""
        final = q.final_view(s, sub)
        if final is None:
            return None
        mask = self.snapshots.latest(s, sub).mask
        per_detail = {d: v.model_copy(update={"feedback": mask(v.feedback)}) for d, v in final.per_detail.items()}
        return final.model_copy(update={"per_detail": per_detail, "decided_by": BLIND_DECIDED_BY[final.source]})

    def cited_place(self, s: Session, sub: Submission, assignment: Assignment, detail_id: str,
                    index: int) -> PlaceView:
        """A citation's whole place, masked: only one the assessor's own view shows them."""
        shown = next((d for d in self.assessor_view(s, sub, assignment).details if d.detail_id == detail_id), None)
        snap = self.snapshots.latest(s, sub)
        if shown is None or index >= len(shown.citations):
            snap.finding(detail_id)  # NotFound, naming the details, for an unknown one
            raise NotFound(f"{detail_id} shows no cited passage {index + 1}")
        return place_view(snap, detail_id, index, snap.mask)

    def read_source(self, s: Session, sub: Submission, source_id: str, place: str | None = None) -> SourceView:
        """A whole artifact or part of the submission, masked, split by its places (see views.source_view)."""
        snap = self.snapshots.latest(s, sub)
        source = snap.sources.get(source_id)
        if source is None:
            raise NotFound(f"{source_id!r} is not a readable file of {label(sub)}: "
                           f"read one of {', '.join(snap.sources) or 'none'}")
        return source_view(source, snap.mask, place)

    def _view_fields(self, s: Session, sub: Submission, snap: Snapshot, mask: Mask,
                     decisions: dict[str, DecisionView], scores: dict[str, ScoreView]) -> dict[str, Any]:
        return dict(
            submission=sub.id, label=label(sub), credential=sub.credential, attempt=sub.attempt, state=sub.state,
            rubric_title=snap.rubric.title if snap.rubric else snap.report.rubric_title,
            details=[detail_view(snap, f, mask, decisions.get(f.detail_id), scores.get(f.detail_id))
                     for f in snap.report.details],
            flags=flags(snap.report, mask), previous_attempt=self._previous_attempt(s, sub, snap, mask),
            artifacts=[ArtifactView(artifact_id=src.id, title=mask(src.title), kind=src.kind, role=src.role)
                       for src in snap.sources.values()],
        )

    def _previous_attempt(self, s: Session, sub: Submission, snap: Snapshot, mask: Mask) -> PreviousAttempt | None:
        if sub.previous_id is None:
            return None
        previous = s.get_one(Submission, sub.previous_id)
        before = {f.detail_id: f.status for f in self.snapshots.latest(s, previous).report.details}
        final = q.final_view(s, previous)
        per_detail = final.per_detail if final else {}
        return PreviousAttempt(
            submission=previous.id, attempt=previous.attempt, result=final.result if final else None,
            not_yet=[PreviousDetail(detail_id=d, feedback=mask(v.feedback))
                     for d, v in per_detail.items() if v.score == "not_yet"],
            previous_drafted_status=before,
            drafted_status_changed={f.detail_id: before[f.detail_id] != f.status
                                    for f in snap.report.details if f.detail_id in before},
        )

    # ------------------------------------------------------------ the queue's items

    def assessor_item(self, s: Session, sub: Submission, assignment: Assignment,
                      now: datetime | None = None) -> QueueItem:
        snap = self.snapshots.latest(s, sub)
        reasons = [snap.mask(r) for r in json.loads(sub.incomplete_reasons)]
        item = queue_item(sub, reasons, now, my_progress=q.progress(s, assignment, len(snap.detail_ids)))
        return queue_seen_by(assignment, item)

    def lead_item(self, s: Session, sub: Submission, now: datetime | None = None) -> QueueItem:
        assignments = q.assignments(s, sub)
        final = q.final_view(s, sub)
        if final:
            progress = f"final: {final.result.replace('_', ' ')}"
        elif assignments:
            n = q.detail_count(s, sub)
            progress = "; ".join(f"{a.assessor.username}: {q.progress(s, a, n)}" for a in assignments)
        else:
            progress = sub.state.replace("_", " ")
        return queue_item(sub, json.loads(sub.incomplete_reasons), now, my_progress=progress,
                          assigned_to=[a.assessor.username for a in assignments])


def queue_item(sub: Submission, reasons: list[str], now: datetime | None = None, **fields: Any) -> QueueItem:
    """`now`: one instant for a whole list, so ages order the items as their creation does."""
    age = ((now or utcnow()) - aware(sub.created_at)).total_seconds() / 86400
    return QueueItem(submission=sub.id, label=label(sub), credential=sub.credential, readiness=sub.readiness,
                     incomplete=bool(reasons), incomplete_reasons=reasons, state=sub.state, age_days=age, **fields)
