"""`prescreen demo`: a review queue with work in every state, made through the ReviewService as people would.

Five sample bundles are screened once each (the real pipeline). A few more submissions reuse those screenings
under other submission ids (the same work, sent by a made-up cohort), so the demo stays quick while the audit
has finished reviews to read. First the lead marks a gold set (GOLD, with true scores) on which ana passes
calibration and cam, a new assessor, falls below the threshold (no live work for cam). Then the lead assigns,
ana and ben confirm, override and score blind, submit, disagree, and the lead adjudicates or returns, one PLAN
entry per submission, until the queue holds:

awaiting assignment · in review (ben done, ana part way) · a disagreement awaiting adjudication · final,
earned (by agreement and by adjudication) · final, not yet earned (and its attempt 2) · incomplete ·
returned to the earner as incomplete.

Everything is deterministic: what each assessor scores follows from the drafted finding and the plan.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from prescreen.review.calibration import Calibration
from prescreen.review.errors import NotFound
from prescreen.review.rules import ScoreValue
from prescreen.review.service import ReviewService
from prescreen.review.views import AssessorView, DetailView, QueueItem

if TYPE_CHECKING:
    from prescreen.pipeline import Progress, Screening

LEAD, ANA, BEN, CAM = "lead", "ana", "ben", "cam"
USERS = (
    (LEAD, "lead-demo-pass", "lead", "Demo lead"),
    (ANA, "ana-demo-pass", "assessor", "Ana (demo assessor)"),
    (BEN, "ben-demo-pass", "assessor", "Ben (demo assessor)"),
    (CAM, "cam-demo-pass", "assessor", "Cam (new assessor)"),
)
BUNDLES = ("examples/lincoln-elementary", "examples/harbor-middle", "benchmarks/labelled/riverside-traps",
           "benchmarks/labelled/maple-ridge-injection", "benchmarks/labelled/cedar-grove-el")

Goal = Literal["awaiting_assignment", "in_review", "adjudication", "earned", "not_yet_earned", "incomplete",
               "returned", "gold"]


class Plan(BaseModel):
    """What happens to one demo submission."""

    bundle: str = Field(description="The bundle's folder name (one of BUNDLES).")
    goal: Goal = Field(description="Where the submission ends: a state, or a final result.")
    code: str | None = Field(None, description="Another submission id: the bundle's screening reused under it.")
    attempt: int = 1
    disputes: int = Field(0, description="Details ben scores otherwise than ana (the lead settles them, unless "
                                         "the goal is to leave them awaiting adjudication).")


GOLD = (  # the gold set: the lead gives the true scores (the drafts read as scores)
    Plan(bundle="lincoln-elementary", code="S-2026-0901", goal="gold"),
    Plan(bundle="maple-ridge-injection", code="S-2026-0902", goal="gold"),
)
CALIBRATING = ((ANA, 1), (CAM, 4))  # assessor, details misjudged per gold review: 92% and 67% against 80%
PLAN = (
    Plan(bundle="lincoln-elementary", goal="in_review"),
    Plan(bundle="cedar-grove-el", goal="awaiting_assignment"),
    Plan(bundle="maple-ridge-injection", goal="adjudication", disputes=2),
    Plan(bundle="harbor-middle", goal="incomplete"),
    Plan(bundle="riverside-traps", goal="returned"),
    Plan(bundle="lincoln-elementary", code="S-2026-0121", goal="earned"),
    Plan(bundle="lincoln-elementary", code="S-2026-0125", goal="earned", disputes=1),
    Plan(bundle="lincoln-elementary", code="S-2026-0130", goal="not_yet_earned", disputes=1),
    Plan(bundle="cedar-grove-el", code="S-2026-0405", goal="not_yet_earned"),
    Plan(bundle="cedar-grove-el", code="S-2026-0405", attempt=2, goal="earned"),
    Plan(bundle="maple-ridge-injection", code="S-2026-0320", goal="not_yet_earned", disputes=2),
    Plan(bundle="maple-ridge-injection", code="S-2026-0324", goal="earned"),
    Plan(bundle="riverside-traps", code="S-2026-0315", goal="not_yet_earned"),  # incomplete, assigned anyway
    Plan(bundle="harbor-middle", code="S-2026-0133", goal="returned"),
)
IN_PROGRESS = 3  # details ana has decided on the submission left in review

NOT_YET_FEEDBACK = {
    "missing": "Nothing in the portfolio shows this yet: add an artifact that shows it done (minutes, data, a "
               "dated plan) and point to it in the self-analysis.",
    "weak": "The narrative describes it, but no artifact shows it: point to the artifact and page that does.",
    "evidenced": "The cited passage is a plan: show it carried out (dates, who took part, what changed).",
}
OVERRIDE_REASON = {
    "evidenced": "The artifact the self-analysis points to shows it done: dated notes and sign-in counts.",
    "weak": "The cited passage states an intention; nothing shows it carried out yet.",
}
ADJUDICATION_FEEDBACK = "Settled by the lead after reading both reviews and the cited evidence."
RETURN_REASON = "Returned as incomplete: {reasons}. Please fix it and submit again."


# ---------------------------------------------------------------- screenings, reused


class ReusedScreenings:
    """A `screen` callable that screens each bundle once: a copy's path (see `copy_path`) gets the screening of
    its bundle under the copy's submission id, attempt and earner e-mail (so each copy is its own earner's,
    while the earner's name and school, which the artifacts mention, stay masked for assessors)."""

    def __init__(self, screen: Callable[..., Screening]):
        self.screen = screen
        self.done: dict[Path, Screening] = {}
        self.copies: dict[Path, tuple[Path, str, int]] = {}

    def copy_path(self, bundle: Path, code: str, attempt: int) -> Path:
        path = bundle.with_name(f"{bundle.name}#{code}-{attempt}")
        self.copies[path] = (bundle, code, attempt)
        return path

    def __call__(self, path: Path, progress: Progress | None = None) -> Screening:
        bundle, code, attempt = self.copies.get(path, (path, "", 0))
        if bundle not in self.done:
            self.done[bundle] = self.screen(bundle, progress) if progress else self.screen(bundle)
        return renamed(self.done[bundle], code, attempt) if code else self.done[bundle]


def renamed(screening: Screening, code: str, attempt: int) -> Screening:
    """The same screening, as submission `code` at `attempt` by an earner with their own e-mail."""
    report = screening.report.model_copy(update={"submission_id": code})
    if screening.bundle is None:
        return dataclasses.replace(screening, report=report)
    manifest = screening.bundle.manifest
    email = manifest.earner.email
    earner = manifest.earner.model_copy(update={"email": tagged(email, code) if email else None})
    manifest = manifest.model_copy(update={"submission_id": code, "attempt": attempt, "earner": earner})
    return dataclasses.replace(screening, report=report,
                               bundle=screening.bundle.model_copy(update={"manifest": manifest}))


def tagged(email: str, code: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local}+{code.lower()}@{domain}"


# ---------------------------------------------------------------- how the assessors score


def truths(view: AssessorView, plan: Plan) -> dict[str, ScoreValue]:
    """What ana scores: all demonstrated for an earned goal; otherwise the draft read as a score, with at least
    one detail not yet for a result that is not earned."""
    if plan.goal == "earned":
        return {d.detail_id: "demonstrated" for d in view.details}
    scores: dict[str, ScoreValue] = {d.detail_id: "demonstrated" if d.drafted_status in (None, "evidenced")
                                     else "not_yet" for d in view.details}
    if plan.goal == "not_yet_earned" and "not_yet" not in scores.values():
        scores[view.details[-1].detail_id] = "not_yet"
    return scores


def disputed(view: AssessorView, plan: Plan) -> set[str]:
    """The details ben scores otherwise than ana: a fixed spread, from the submission's label."""
    ids = [d.detail_id for d in view.details]
    return set(random.Random(view.label).sample(ids, min(plan.disputes, len(ids))))


def flipped(score: ScoreValue) -> ScoreValue:
    return "not_yet" if score == "demonstrated" else "demonstrated"


def save(service: ReviewService, actor: str, submission: int, detail: DetailView, score: ScoreValue) -> None:
    """Confirm the drafted finding when the score agrees with it, else override it with a reason; then score."""
    feedback = NOT_YET_FEEDBACK[detail.drafted_status or "missing"] if score == "not_yet" else ""
    drafted_as = "demonstrated" if detail.drafted_status == "evidenced" else "not_yet"
    if detail.drafted_status is None:  # the anchoring check hid the draft: nothing to confirm
        service.score(actor, submission, detail.detail_id, score, feedback)
    elif score == drafted_as:
        service.save_detail(actor, submission, detail.detail_id, action="confirm", score=score, feedback=feedback)
    else:
        status = "evidenced" if score == "demonstrated" else "weak"
        service.save_detail(actor, submission, detail.detail_id, action="override", new_status=status,
                            reason=OVERRIDE_REASON[status], score=score, feedback=feedback)


def review(service: ReviewService, actor: str, submission: int, scores: dict[str, ScoreValue],
           limit: int | None = None) -> None:
    """The assessor saves every detail (or the first `limit`) and, when they saved them all, submits."""
    view = service.open(actor, submission)
    for detail in view.details[:limit]:
        save(service, actor, submission, detail, scores[detail.detail_id])
    if limit is None:
        service.submit(actor, submission, "earned" if set(scores.values()) == {"demonstrated"} else "not_yet")


def adjudicate(service: ReviewService, submission: int, scores: dict[str, ScoreValue], details: set[str]) -> None:
    for detail_id in sorted(details):
        service.adjudicate(LEAD, submission, detail_id, scores[detail_id], ADJUDICATION_FEEDBACK)


# ---------------------------------------------------------------- one submission, from ingest to its goal


def play(service: ReviewService, screens: ReusedScreenings, root: Path, plan: Plan) -> None:
    bundle = next(root / b for b in BUNDLES if Path(b).name == plan.bundle)
    path = screens.copy_path(bundle, plan.code, plan.attempt) if plan.code else bundle
    view = service.ingest(LEAD, path)
    if plan.goal == "gold":
        Calibration(service).mark_gold(LEAD, view.id, dict(truths(service.lead_view(LEAD, view.id), plan)))
        return
    if plan.goal == "returned":
        reason = RETURN_REASON.format(reasons="; ".join(view.incomplete_reasons) or "parts are missing")
        service.return_to_earner(LEAD, view.id, reason)
    if plan.goal in ("returned", "incomplete", "awaiting_assignment"):
        return
    service.assign(LEAD, view.id, [ANA, BEN])
    ana_view = service.open(ANA, view.id)
    scores, split = truths(ana_view, plan), disputed(ana_view, plan)
    review(service, BEN, view.id, {d: flipped(s) if d in split else s for d, s in scores.items()})
    review(service, ANA, view.id, scores, limit=IN_PROGRESS if plan.goal == "in_review" else None)
    if plan.goal not in ("in_review", "adjudication") and split:
        adjudicate(service, view.id, scores, split)


def calibrate(service: ReviewService) -> None:
    """Each CALIBRATING assessor scores the gold set blind, misjudging the first few details of each review."""
    gold = Calibration(service)
    truth = {g.submission: g.true_scores for g in gold.gold(LEAD)}
    for assessor, misjudged in CALIBRATING:
        for submission in gold.assign(LEAD, assessor):
            wrong = sorted(truth[submission])[:misjudged]
            review(service, assessor, submission,
                   {d: flipped(s) if d in wrong else s for d, s in truth[submission].items()})


def ensure_users(service: ReviewService) -> None:
    for username, password, role, display_name in USERS:
        try:
            service.user(username)
        except NotFound:
            service.create_user(username, password, role, display_name, actor="demo")


def loaded(service: ReviewService) -> bool:
    """The demo (or other work) is in the database already."""
    try:
        service.user(LEAD)
    except NotFound:
        return False
    return bool(service.queue(LEAD))


def load_demo(service: ReviewService, root: Path) -> list[QueueItem]:
    """Users, the gold set and calibration, then every PLAN entry played in order; the lead's queue after it.
    From here on the service screens each bundle once (its `screen` is wrapped in ReusedScreenings)."""
    screens = ReusedScreenings(service.screen)
    service.screen = screens
    ensure_users(service)
    for plan in GOLD:
        play(service, screens, root, plan)
    calibrate(service)
    for plan in PLAN:
        play(service, screens, root, plan)
    return service.queue(LEAD)
