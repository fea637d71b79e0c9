"""The workflow's rules in one place, as pure functions: states and the actions each allows, what a decision,
a score, a submit and a recommendation must satisfy, agreement and the result, the ingest pre-check.

The service enforces them and the UI reads its choices from them (allowed_now, override_choices, SCORES,
recommendation_of); neither keeps its own copy. Domain values are named: Literal aliases for a submission's
`State`, a finding's drafted `DraftStatus`, an `Action`, a `ScoreValue`; DecisionView and ScoreView instead of
tuples. "state" is always a submission's place in the workflow, "status" a finding's drafted status.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from prescreen.models import Earner, Manifest
from prescreen.report import Report
from prescreen.review.db import Submission
from prescreen.review.errors import InvalidInput, InvalidTransition

State = Literal["incomplete", "awaiting_assignment", "in_review", "adjudication", "final", "returned"]
ScoreValue = Literal["demonstrated", "not_yet"]
DraftStatus = Literal["evidenced", "weak", "missing"]
DecisionAction = Literal["confirm", "override"]
Result = Literal["earned", "not_yet_earned"]
Recommendation = Literal["earned", "not_yet"]
ResultSource = Literal["agreement", "adjudication"]
#: what is done to a submission, each allowed in some states (ALLOWED_FROM)
Action = Literal["assign", "return_to_earner", "ingest_again", "decide", "score", "submit", "adjudicate"]


class DecisionView(BaseModel):
    """An assessor's decision on a drafted finding: confirmed, or overridden to a new status for a reason."""

    action: DecisionAction
    new_status: DraftStatus | None = Field(None, description="The status an override gives; None for confirm.")
    reason: str = Field("", description="Why the finding was overridden; empty for confirm.")


class ScoreView(BaseModel):
    """A score of one detail with its feedback for the earner."""

    score: ScoreValue
    feedback: str = ""

MAX_ATTEMPTS = 3
DRAFT_STATUSES: tuple[DraftStatus, ...] = ("evidenced", "weak", "missing")
SCORES: tuple[ScoreValue, ...] = ("demonstrated", "not_yet")
#: who decided a final result, as an assessor reads it: never a name
BLIND_DECIDED_BY: dict[str, str] = {"agreement": "both assessors", "adjudication": "the program lead"}
INCOMPLETE_PROBLEMS = frozenset({"missing_file", "unreadable", "no_text", "unsupported_type", "too_large"})
READINESS_ORDER = {"ready": 0, "not_ready": 1, "unscreenable": 2}

#: action -> the states it is allowed in. Everything else is an InvalidTransition.
ALLOWED_FROM: dict[Action, tuple[State, ...]] = {
    "assign": ("incomplete", "awaiting_assignment"),
    "return_to_earner": ("incomplete",),
    "ingest_again": ("incomplete", "awaiting_assignment", "returned"),
    "decide": ("in_review",),
    "score": ("in_review",),
    "submit": ("in_review",),
    "adjudicate": ("adjudication",),
}


# ---------------------------------------------------------------- states and results


def label(sub: Submission) -> str:
    return f"{sub.code} · attempt {sub.attempt}"


def allowed_now(state: str) -> list[Action]:
    """The actions a submission in `state` allows (the UI shows only these)."""
    return [action for action, states in ALLOWED_FROM.items() if state in states]


def override_choices(drafted: str) -> list[DraftStatus]:
    """The statuses an override of a finding drafted `drafted` may give it."""
    return [status for status in DRAFT_STATUSES if status != drafted]


def recommendation_of(scores: Mapping[str, ScoreView]) -> Recommendation:
    """The only recommendation the scores allow: earned when every detail is demonstrated."""
    return "earned" if all(v.score == "demonstrated" for v in scores.values()) else "not_yet"


def require_state(sub: Submission, action: Action) -> None:
    """InvalidTransition, saying what is allowed, unless `action` is allowed in the submission's state."""
    allowed = ALLOWED_FROM[action]
    if sub.state in allowed:
        return
    now = [name.replace("_", " ") for name in allowed_now(sub.state)]
    raise InvalidTransition(
        f"{label(sub)} is {sub.state}: {action.replace('_', ' ')} is allowed only when it is "
        f"{' or '.join(allowed)}; allowed now: {', '.join(now) if now else 'nothing'}"
    )


def precheck(report: Report) -> list[str]:
    """Why the submission is incomplete (an empty list when it is complete enough for assessors)."""
    reasons = [f"cannot be screened: {report.message}"] if report.readiness == "unscreenable" else []
    reasons += [
        f"part {p.part_id} has {p.word_count} words, below its minimum of {p.minimum}"
        for p in report.parts if p.shortfall
    ]
    reasons += [
        f"{p.file}{f' ({p.where})' if p.where else ''}: {p.kind.replace('_', ' ')}: {p.message}"
        for p in report.problems if p.kind in INCOMPLETE_PROBLEMS
    ]
    return reasons


def compare(first: Mapping[str, ScoreView], second: Mapping[str, ScoreView]) -> tuple[dict[str, ScoreView], list[str]]:
    """(agreed {detail: score with both feedbacks joined}, disputed [detail]) of two assessors' scores."""
    agreed, disputed = {}, []
    for detail, mine in first.items():
        other = second[detail]
        if mine.score == other.score:
            feedback = "\n\n".join(dict.fromkeys(f for f in (mine.feedback, other.feedback) if f.strip()))
            agreed[detail] = ScoreView(score=mine.score, feedback=feedback)
        else:
            disputed.append(detail)
    return agreed, disputed


def result_of(per_detail: Mapping[str, ScoreView]) -> Result:
    """Earned only when every detail is demonstrated."""
    return "earned" if all(v.score == "demonstrated" for v in per_detail.values()) else "not_yet_earned"


_ABSOLUTE_PATH = re.compile(r"(?<![\w.~])(?:[A-Za-z]:)?[\\/][^\s'\"():,;]*")


def scrub_paths(message: str, bundle: Path) -> str:
    """The message with every server path cut to its base name: the bundle's own first, then any other."""
    for spelled in {str(bundle.resolve()), str(bundle)}:
        message = message.replace(spelled, bundle.name)
    return _ABSOLUTE_PATH.sub(lambda m: re.split(r"[\\/]", m.group().rstrip("/\\"))[-1] or m.group(), message)


def not_ingested(bundle: Path, problem: str) -> str:
    """Why a bundle was refused at ingest, naming the file (never its path on the server) and the fix."""
    problem = scrub_paths(problem, bundle).removeprefix(f"{bundle.name}: ")
    return (f"cannot be screened: {bundle.name}: {problem.rstrip('.')}. Nothing was added to the queue; fix the "
            "bundle and ingest it again")


def earner_key(manifest: Manifest | None) -> str | None:
    """Links attempts of the same earner without keeping the e-mail in the submissions table."""
    email = manifest.earner.email if manifest else None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest() if email else None


# ---------------------------------------------------------------- what an action must satisfy


def different_earners(first: Earner, second: Earner) -> bool:
    """Nothing identifies them as one person: every field given on both sides (e-mail, name) differs.

    An earner who changed e-mail keeps the name, and the other way round; both changed is another earner."""
    fold = lambda text: " ".join(text.split()).casefold()  # noqa: E731
    pairs = [(a, b) for a, b in ((first.email, second.email), (first.name, second.name)) if a and b]
    return bool(pairs) and all(fold(a) != fold(b) for a, b in pairs)


def check_decision(detail_id: str, drafted: str, action: str, new_status: str | None, reason: str) -> str | None:
    """The status to store with the decision (None for a confirmation), or InvalidInput."""
    if action == "confirm":
        if new_status not in (None, drafted):
            raise InvalidInput(f"confirm keeps the drafted status ({drafted}) of {detail_id}: "
                               "use override to change it")
        return None
    if action != "override":
        raise InvalidInput(f"unknown action {action!r}: use confirm or override")
    if new_status not in override_choices(drafted):
        others = " or ".join(override_choices(drafted))
        raise InvalidInput(f"an override of {detail_id} needs a new status other than {drafted}: {others}")
    if not reason.strip():
        raise InvalidInput(f"an override of {detail_id} needs a reason")
    return new_status


def check_score(score: str, feedback: str) -> None:
    if score not in SCORES:
        raise InvalidInput(f"unknown score {score!r}: use demonstrated or not_yet")
    if score == "not_yet" and not feedback.strip():
        raise InvalidInput("a \"not yet\" score needs feedback for the earner: say what is missing and how to "
                           "show it")


def check_complete(detail_ids: list[str], decisions: dict, scores: dict) -> None:
    undecided = [d for d in detail_ids if d not in decisions]
    unscored = [d for d in detail_ids if d not in scores]
    if undecided or unscored:
        missing = [f"not decided: {', '.join(undecided)}"] if undecided else []
        missing += [f"not scored: {', '.join(unscored)}"] if unscored else []
        raise InvalidTransition(f"cannot submit yet: every detail needs a decision and a score ({'; '.join(missing)})")


def check_recommendation(recommendation: str, scores: Mapping[str, ScoreView]) -> None:
    if recommendation not in ("earned", "not_yet"):
        raise InvalidInput(f"unknown recommendation {recommendation!r}: use earned or not_yet")
    if recommendation != recommendation_of(scores):
        raise InvalidInput("the recommendation must follow the scores: earned when every detail is demonstrated, "
                           "otherwise not_yet")

