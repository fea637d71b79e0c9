"""The audit's view of the program's policy: each assessor's calibration against the gold set, and the anchoring
check (agreement with the final results with and without the AI draft).

Calibration is read with the review's own rule (review/calibration.py: status_of), so the audit flags exactly
the assessors the workflow holds back. The anchoring comparison is computed from the audit's facts.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from prescreen.audit.facts import SubmissionFacts
from prescreen.audit.stats import Agreement, agreement
from prescreen.review.calibration import Standing, status_of
from prescreen.review.db import User
from prescreen.review.program import CalibrationSettings

ALL = "all assessors"
CALIBRATION_NOTE = ("Agreement with the gold set's true scores over every detail of the gold reviews submitted (since "
                    "a lead's request to calibrate again); the filter does not apply. Flagged: below the threshold, "
                    "so no live work.")
ANCHORING_NOTE = ("Only submissions where the anchoring check hid the AI draft from one of the two assessors; n counts "
                  "detail scores compared with the final result. The final result is usually the two assessors' "
                  "agreed score, so agreement with it runs high either way: compare the two conditions, not the "
                  "figures with other tables. Below 10 scores a row moves with a single score: read it with care.")


class CalibrationRow(BaseModel):
    assessor: str
    gold_reviews: int = Field(description="Gold reviews submitted.")
    open_gold: int = Field(description="Gold reviews assigned, not submitted yet.")
    stats: Agreement = Field(description="The assessor's scores against the true scores.")
    standing: Standing
    flagged: bool = Field(description="Below the threshold: the workflow assigns no live work.")
    live_work: bool
    why: str = Field(description="Why no live work, and what to do.")


class AnchoringRow(BaseModel):
    assessor: str = Field(description=f"An assessor, or {ALL!r}.")
    draft: Literal["shown", "hidden"] = Field(description="Whether the assessor saw the AI draft.")
    submissions: int
    stats: Agreement = Field(description="The assessor's scores against the final results.")


def calibration_rows(sessions: sessionmaker, settings: CalibrationSettings) -> list[CalibrationRow]:
    """Every active assessor's calibration (read-only)."""
    with sessions() as s:
        users = s.scalars(select(User).where(User.role == "assessor", User.active).order_by(User.username))
        statuses = [status_of(s, user, settings) for user in users]
        s.rollback()
    return [CalibrationRow(assessor=c.assessor, gold_reviews=c.gold_reviews, open_gold=c.open_gold, stats=c.stats,
                           standing=c.standing, flagged=c.standing == "below_threshold", live_work=c.live_work,
                           why=c.why) for c in statuses]


def anchoring_rows(subs: list[SubmissionFacts]) -> list[AnchoringRow]:
    """Per assessor, then for all: agreement with the final results with the draft shown and hidden, over the
    final submissions where the check hid it from one assessor."""
    pairs: dict[tuple[str, bool], list[tuple[str, str]]] = defaultdict(list)
    counted: dict[tuple[str, bool], set[int]] = defaultdict(set)
    for s in subs:
        if not s.is_final or not any(a.draft_hidden for a in s.submitted):
            continue
        for a in s.submitted:
            scored = [(a.scores[d], s.final[d]) for d in a.scores if d in s.final]
            for key in ((a.assessor, a.draft_hidden), (ALL, a.draft_hidden)):
                pairs[key] += scored
                counted[key].add(s.id)
    names = sorted({name for name, _ in pairs if name != ALL}) + ([ALL] if pairs else [])
    return [AnchoringRow(assessor=name, draft="hidden" if hidden else "shown", submissions=len(counted[(name, hidden)]),
                         stats=agreement([p[0] for p in pairs[(name, hidden)]], [p[1] for p in pairs[(name, hidden)]]))
            for name in names for hidden in (False, True)]
