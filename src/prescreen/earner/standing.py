"""Where an earner's submission stands in the program's review, read from the review database (read-only).

The earner reads their own submission only (the caller passes the code and attempt of a draft they own), and
only what is theirs to know: the state in their words, why it was returned, and once final, the result with a
score and feedback per detail. Never who assessed it, never the assessors' decisions or the drafted findings.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from prescreen.review.db import FinalResult, Submission, aware
from prescreen.review.rules import ScoreValue

EarnerStatus = Literal["draft", "submitted", "in_review", "returned", "earned", "not_yet_earned"]
STATUS_WORDS: dict[str, str] = {
    "draft": "draft: not submitted yet",
    "submitted": "submitted: waiting for assessors",
    "in_review": "in review",
    "returned": "returned as incomplete: fix it and submit it again",
    "earned": "earned",
    "not_yet_earned": "not yet earned",
}
#: the review's states, as the earner reads them (a final one reads as its result)
_FROM_STATE: dict[str, EarnerStatus] = {
    "incomplete": "submitted", "awaiting_assignment": "submitted", "in_review": "in_review",
    "adjudication": "in_review", "returned": "returned",
}


class DetailResult(BaseModel):
    """One detail of a final result, as the earner reads it."""

    detail_id: str
    score: ScoreValue
    feedback: str = ""


class ReviewStanding(BaseModel):
    """A submitted attempt as the review database holds it, in the earner's terms."""

    status: EarnerStatus
    reasons: list[str] = Field(default_factory=list, description="Why it was returned (or flagged incomplete).")
    results: list[DetailResult] = Field(default_factory=list, description="Per detail, once the result is final.")
    decided_at: datetime | None = None


def review_standing(sessions: sessionmaker, code: str, attempt: int) -> ReviewStanding | None:
    """The standing of submission `code` · `attempt`; None when the review database has no such submission."""
    with sessions() as session:
        sub = session.scalar(select(Submission).where(Submission.code == code, Submission.attempt == attempt))
        if sub is None:
            return None
        final = session.scalar(select(FinalResult).where(FinalResult.submission_id == sub.id))
        if sub.state == "final" and final is not None:
            return _final(final)
        reasons = [sub.returned_reason] if sub.returned_reason else []
        if sub.state in ("incomplete", "returned"):
            reasons += json.loads(sub.incomplete_reasons or "[]")
        return ReviewStanding(status=_FROM_STATE.get(sub.state, "submitted"), reasons=reasons)


def _final(final: FinalResult) -> ReviewStanding:
    results = [DetailResult(detail_id=d, score=score, feedback=feedback)
               for d, (score, feedback) in json.loads(final.per_detail_json).items()]
    status: EarnerStatus = "earned" if final.result == "earned" else "not_yet_earned"
    return ReviewStanding(status=status, decided_at=aware(final.decided_at), results=results)
