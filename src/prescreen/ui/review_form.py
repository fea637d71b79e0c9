"""The review tab's form logic, without Gradio: which detail comes next, what the assessor chose on screen,
whether it is saved yet, and storing it through the service (decision and score in one transaction).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from prescreen.review.workflow import (
    AssessorView,
    DecisionAction,
    DecisionView,
    DetailView,
    DraftStatus,
    Recommendation,
    ReviewService,
    ScoreValue,
    ScoreView,
    recommendation_of,
)


class Choices(BaseModel):
    """What the assessor has chosen on screen for one detail (saved or not)."""

    model_config = ConfigDict(extra="forbid")

    action: DecisionAction | None = None
    new_status: DraftStatus | None = None
    reason: str = ""
    score: ScoreValue | None = None
    feedback: str = ""

    @classmethod
    def of(cls, action, new_status, reason, score, feedback) -> Choices:
        """From the form's fields as Gradio passes them (None or "" for an empty one)."""
        return cls(action=action or None, new_status=new_status or None, reason=(reason or "").strip(),
                   score=score or None, feedback=(feedback or "").strip())

    def empty(self) -> bool:
        return not self.action and not self.score

    def decision(self) -> DecisionView | None:
        """The decision as the service stores it: a new status and a reason belong to an override only."""
        if not self.action:
            return None
        override = self.action == "override"
        return DecisionView(action=self.action, new_status=self.new_status if override else None,
                            reason=self.reason if override else "")

    def scored(self) -> ScoreView | None:
        return ScoreView(score=self.score, feedback=self.feedback) if self.score else None


def unsaved(detail: DetailView, choices: Choices) -> bool:
    """Whether the screen holds a choice for `detail` that differs from what is stored."""
    stored = detail.decision
    if stored is not None:
        stored = stored.model_copy(update={"reason": stored.reason.strip()})
    decision, scored = choices.decision(), choices.scored()
    return (decision is not None and decision != stored) or (scored is not None and scored != detail.score)


def store(service: ReviewService, user: str, view: AssessorView, detail_id: str, choices: Choices) -> AssessorView:
    """Save what is chosen: decision and score together (atomically), or whichever one is chosen (a draft)."""
    decision, scored = choices.decision(), choices.scored()
    if decision and scored:
        return service.save_detail(user, view.submission, detail_id, action=decision.action,
                                   new_status=decision.new_status, reason=decision.reason, score=scored.score,
                                   feedback=scored.feedback)
    if decision:
        return service.decide(user, view.submission, detail_id, decision.action, decision.new_status,
                              decision.reason)
    if scored:
        return service.score(user, view.submission, detail_id, scored.score, scored.feedback)
    return view


def done(detail: DetailView) -> bool:
    """Scored, and decided unless no draft was shown (the anchoring check: nothing to confirm or override)."""
    return detail.score is not None and (detail.decision is not None or detail.drafted_status is None)


def detail_choices(view: AssessorView) -> list[tuple[str, str]]:
    def mark(d: DetailView) -> str:
        return "done" if done(d) else "decided" if d.decision else "scored" if d.score else "to do"

    return [(f"{d.detail_id} · {mark(d)} · {_short(d.text)}", d.detail_id) for d in view.details]


def _short(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def find_detail(view: AssessorView, detail_id: str | None) -> DetailView:
    for detail in view.details:
        if detail.detail_id == detail_id:
            return detail
    return view.details[0]


def step(view: AssessorView, detail_id: str, offset: int) -> str:
    ids = [d.detail_id for d in view.details]
    return ids[(ids.index(detail_id) + offset) % len(ids)] if detail_id in ids else ids[0]


def next_open(view: AssessorView, detail_id: str) -> str:
    """The next detail (after this one, wrapping) still to decide or score; this one when all are done."""
    ids = [d.detail_id for d in view.details]
    start = ids.index(detail_id) if detail_id in ids else -1
    for k in range(1, len(ids) + 1):
        candidate = view.details[(start + k) % len(ids)]
        if not done(candidate):
            return candidate.detail_id
    return detail_id


def implied_recommendation(view: AssessorView) -> Recommendation | None:
    """The recommendation the scores imply once all are in (the workflow's own rule)."""
    if not view.details or not all(d.score for d in view.details):
        return None
    return recommendation_of({d.detail_id: d.score for d in view.details if d.score})
