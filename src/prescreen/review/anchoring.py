"""The anchoring check: with PRESCREEN_ANCHORING_CHECK=true, one of the two assessors of a submission, chosen at
random when it is assigned and recorded on the assignment (`draft_hidden`), scores without the AI draft.

That assessor's view carries no drafted status, confidence, rationale or citations (nor the previous attempt's
drafted statuses); there is no draft for them to confirm or override, so no decision is stored or needed. The
audit compares each assessor's agreement with the final results with and without the draft.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from prescreen.review import queries as q
from prescreen.review.db import Assignment, Submission
from prescreen.review.program import AnchoringSettings
from prescreen.review.rules import check_complete as check_submission_complete
from prescreen.review.views import AssessorView, DecisionTuple, DetailView, ScoreTuple

Choose = Callable[[Sequence[Assignment]], Assignment]


def hide_draft(s: Session, sub: Submission, settings: AnchoringSettings, lead: str,
               choose: Choose | None = None) -> Assignment | None:
    """When the check is on: hides the draft from one of the submission's live assessors, chosen by `choose`
    (default: at random), and records it on the assignment and in the audit log. The one chosen, or None."""
    if not settings.check:
        return None
    chosen = (choose or random.choice)(q.assignments(s, sub))
    chosen.draft_hidden = True
    q.audit(s, lead, "anchoring", sub.id, note=f"AI draft hidden from {chosen.assessor.username}")
    s.flush()
    return chosen


def without_draft(view: AssessorView) -> AssessorView:
    """The assessor's view with nothing of the AI draft left."""
    previous = view.previous_attempt
    if previous is not None:
        previous = previous.model_copy(update={"previous_drafted_status": {}, "drafted_status_changed": {}})
    return view.model_copy(update={"details": [_detail_without_draft(d) for d in view.details],
                                   "previous_attempt": previous, "draft_hidden": True})


def _detail_without_draft(detail: DetailView) -> DetailView:
    return detail.model_copy(update={"drafted_status": None, "confidence": None, "rationale": "", "citations": [],
                                     "decision": None, "drafted_by": "", "fallback_reason": None})


def keeps_decision(assignment: Assignment) -> bool:
    """False for an assessor who was not shown the draft: there is nothing for them to confirm or override."""
    return not assignment.draft_hidden


def check_complete(assignment: Assignment, detail_ids: list[str], decisions: dict[str, DecisionTuple],
                   scores: dict[str, ScoreTuple]) -> None:
    """rules.check_complete; an assessor without the draft needs scores only."""
    needed: dict[str, object] = dict(decisions) if keeps_decision(assignment) else dict.fromkeys(detail_ids)
    check_submission_complete(detail_ids, needed, scores)
