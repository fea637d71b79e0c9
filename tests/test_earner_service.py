"""EarnerService on a real SQLite review database, the real pipeline (the fake embedder for the model) and the real
ReviewService: an earner builds a draft, self-checks it, fixes a pointer with a picked place, submits it into the
program's queue pre-screened, follows its standing to a final result with feedback, and starts attempt 2; no
earner reaches another's drafts, nor any assessor data."""

from __future__ import annotations

from pathlib import Path

import pytest

from prescreen.earner.assemble import ArtifactDraft, Draft, PartDraft
from prescreen.earner.errors import EarnerError, NotAllowed
from prescreen.earner.service import EarnerService
from prescreen.earner.store import DraftStore
from prescreen.models import EvidenceRef, SelfAnalysisEntry
from prescreen.pipeline import Screener
from prescreen.review.accounts import Passwords, make_hasher
from prescreen.review.db import Submission, User, make_engine, session_factory, upgrade
from prescreen.review.errors import NotAllowed as ReviewNotAllowed
from prescreen.review.service import ReviewService
from prescreen.rubrics import RubricLibrary
from prescreen.settings import Settings
from tests.blind_kit import fallback_mask
from tests.earner_kit import CREDENTIAL, EXPLAIN, MENTORING, OVERVIEW, REFLECTION, write_rubric
from tests.factories import make_pdf
from tests.fakes import StemHashEmbeddings

ROSTER = "roster.pdf"
PAGES = [MENTORING, "Lunch menu for October: soup, pasta, tacos.",
         "Bus routes and their costs for 2025-26: route 1 costs $41,000, route 2 costs $38,500, shared with families.",
         "Notes.", "More notes."]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("earner-service")
    settings = Settings(data_dir=folder / "data", rubrics_dir=write_rubric(folder / "rubrics"))
    screener = Screener(settings, embedder=StemHashEmbeddings())
    return settings, screener, make_pdf(folder / "roster.pdf", PAGES)


@pytest.fixture
def app(world, tmp_path):
    settings, screener, roster = world
    engine = make_engine(f"sqlite:///{tmp_path / 'review.sqlite'}")
    upgrade(engine)
    review = ReviewService(session_factory(engine), screener.screen, deidentify=fallback_mask,
                           passwords=Passwords(make_hasher(fast=True)))
    for name, role in (("lead", "lead"), ("ana", "assessor"), ("ben", "assessor"), ("jo", "earner"), ("sam", "earner")):
        review.create_user(name, f"{name}-test-pass", role, display_name=name.title() + " Rivera")
    earners = EarnerService(review, DraftStore(review.sessions, settings.limits), RubricLibrary(settings.rubrics_dir),
                            screener.screen, tmp_path / "submitted")
    yield review, earners, roster
    engine.dispose()


def built(earners: EarnerService, roster: Path, user: str = "jo", locator: str = "p. 7", overview: str = OVERVIEW):
    """A draft of the tiny credential as an earner fills it in: both parts written, the roster uploaded."""
    draft_id = earners.create(user, CREDENTIAL).id
    draft = Draft(credential=CREDENTIAL, earner={"name": "Jo Rivera", "email": f"{user}@example.org"},
                  parts={"overview": PartDraft(text=overview), "reflection": PartDraft(text=REFLECTION)},
                  artifacts=[ArtifactDraft(id="A1", title="Advisory roster", upload=ROSTER)],
                  self_analysis=[entry("EO1.1", "p. 1"), entry("EO1.2", locator)])
    earners.save(user, draft_id, draft, {ROSTER: roster})
    return draft_id


def entry(detail: str, locator: str) -> SelfAnalysisEntry:
    return SelfAnalysisEntry(detail=detail, evidence=[EvidenceRef(artifact="A1", locator=locator)], explanation=EXPLAIN)


def pick(earners: EarnerService, draft_id: int, detail: str, label_start: str, user: str = "jo") -> None:
    """What the picker does: the place whose label starts so, its locator written into the detail's entry."""
    place = next(p for p in earners.places(user, draft_id, "A1").places if p.label.startswith(label_start))
    draft = earners.open(user, draft_id).draft
    entries = [entry(e.detail, place.locator) if e.detail == detail else e for e in draft.self_analysis]
    earners.save(user, draft_id, draft.model_copy(update={"self_analysis": entries}))


def must_fix(earners: EarnerService, draft_id: int, user: str = "jo") -> list[str]:
    return [n.text for n in earners.self_check(user, draft_id).must_fix]


def test_a_new_draft_lists_every_detail_and_keeps_its_submission_id(app):
    _, earners, _ = app
    stored = earners.create("jo", CREDENTIAL)
    assert [e.detail for e in stored.draft.self_analysis] == ["EO1.1", "EO1.2"]
    assert stored.draft.earner.name == "Jo Rivera" and stored.draft.submission_id.startswith("S-")
    changed = stored.draft.model_copy(update={"submission_id": "S-someone-else", "attempt": 3, "credential": "x"})
    again = earners.save("jo", stored.id, changed)
    assert (again.draft.submission_id, again.draft.attempt, again.draft.credential) == (
        stored.draft.submission_id, 1, CREDENTIAL)
    assert [(s.status, s.can_edit) for s in earners.drafts("jo")] == [("draft", True)]


def test_a_flagged_pointer_is_fixed_with_a_picked_place_then_submitted_pre_screened(app):
    review, earners, roster = app
    draft_id = built(earners, roster)
    assert any("Your pointer p. 7: this file has 5 pages" in text for text in must_fix(earners, draft_id))
    places = earners.places("jo", draft_id, "A1")
    assert places.file == ROSTER and [p.locator for p in places.places] == [f"p. {n}" for n in range(1, 6)]
    pick(earners, draft_id, "EO1.2", "Bus routes")
    assert earners.open("jo", draft_id).draft.self_analysis[1].evidence[0].locator == "p. 3"
    assert must_fix(earners, draft_id) == []

    standing = earners.submit("jo", draft_id)
    assert (standing.status, standing.can_edit, standing.submission_code) == (
        "submitted", False, earners.open("jo", draft_id).draft.submission_id)
    [item] = review.queue("lead")
    assert item.label == f"{standing.submission_code} · attempt 1" and item.readiness != "unscreenable"
    assert not item.incomplete and item.state == "awaiting_assignment"
    with pytest.raises(NotAllowed, match="submitted already"):
        earners.submit("jo", draft_id)
    with pytest.raises(NotAllowed, match="start a new attempt"):
        earners.save("jo", draft_id, earners.open("jo", draft_id).draft)


def test_places_follow_the_file_uploaded_now(app, tmp_path):
    _, earners, roster = app
    draft_id = built(earners, roster, locator="p. 3")
    assert len(earners.places("jo", draft_id, "A1").places) == 5
    shorter = make_pdf(tmp_path / "two-pages.pdf", PAGES[:2])
    earners.save("jo", draft_id, earners.open("jo", draft_id).draft, {ROSTER: shorter})
    assert [p.locator for p in earners.places("jo", draft_id, "A1").places] == ["p. 1", "p. 2"]
    with pytest.raises(EarnerError, match="no artifact A9"):
        earners.places("jo", draft_id, "A9")


def test_the_download_is_the_bundle_as_a_zip(app, tmp_path):
    import zipfile

    _, earners, roster = app
    draft_id = built(earners, roster, locator="p. 3")
    archive = earners.download("jo", draft_id, tmp_path)
    names = zipfile.ZipFile(archive).namelist()
    assert archive.name.endswith("-attempt-1.zip") and "submission.yaml" in names and "artifacts/roster.pdf" in names


def test_an_earner_reaches_only_their_own_drafts_and_no_assessor_data(app, tmp_path):
    review, earners, roster = app
    mine = built(earners, roster, locator="p. 3")
    earners.submit("jo", mine)
    theirs = built(earners, roster, user="sam", locator="p. 3")
    assert [s.draft_id for s in earners.drafts("sam")] == [theirs]
    draft = earners.open("sam", theirs).draft
    for attempt in (lambda: earners.open("sam", mine), lambda: earners.save("sam", mine, draft),
                    lambda: earners.places("sam", mine, "A1"), lambda: earners.self_check("sam", mine),
                    lambda: earners.download("sam", mine, tmp_path), lambda: earners.submit("sam", mine),
                    lambda: earners.standing("sam", mine), lambda: earners.next_attempt("sam", mine),
                    lambda: earners.reopen("sam", mine)):
        with pytest.raises(NotAllowed, match="not yours"):
            attempt()
    for who in ("ana", "lead", "nobody"):
        with pytest.raises(NotAllowed):
            earners.drafts(who)
        with pytest.raises(NotAllowed):
            earners.open(who, mine)
    [item] = review.queue("lead")
    assert review.queue("jo") == []  # an earner has no queue
    for refused in (lambda: review.open("jo", item.submission), lambda: review.lead_view("jo", item.submission),
                    lambda: review.final_result("jo", item.submission), lambda: review.audit("jo"),
                    lambda: review.ingest("jo", tmp_path)):
        with pytest.raises(ReviewNotAllowed):
            refused()
    assert not list(tmp_path.glob("*.zip"))


def test_standing_through_review_to_feedback_then_attempt_two(app):
    review, earners, roster = app
    first = built(earners, roster, locator="p. 3")
    earners.submit("jo", first)
    [item] = review.queue("lead")
    review.assign("lead", item.submission, ["ana", "ben"])
    assert earners.standing("jo", first).status == "in_review"
    for assessor in ("ana", "ben"):
        for detail, score in (("EO1.1", "demonstrated"), ("EO1.2", "not_yet")):
            review.save_detail(assessor, item.submission, detail, action="confirm", score=score,
                               feedback=f"{assessor}-note: {detail} needs the published budget")
        review.submit(assessor, item.submission, "not_yet")

    standing = earners.standing("jo", first)
    assert standing.status == "not_yet_earned" and standing.can_start_next and standing.decided_at
    assert [(f.detail_id, f.score) for f in standing.feedback] == [("EO1.1", "demonstrated"), ("EO1.2", "not_yet")]
    assert "ana-note: EO1.2 needs the published budget" in standing.feedback[1].feedback
    assert standing.feedback[1].text.startswith("Publishes the school bus budget")
    shown = standing.model_dump_json()
    assert '"ana"' not in shown and "ben," not in shown and "agreement" not in shown and "lead" not in shown

    second = earners.next_attempt("jo", first)
    assert (second.attempt, second.draft.revisit, second.previous_id) == (2, ["EO1.2"], first)
    assert second.draft.submission_id == earners.open("jo", first).draft.submission_id
    with pytest.raises(NotAllowed, match="started already"):
        earners.next_attempt("jo", first)
    earners.submit("jo", second.id)
    attempts = sorted(review.queue("lead"), key=lambda i: i.label)
    assert [i.label.split(" · ")[1] for i in attempts] == ["attempt 1", "attempt 2"]
    assert earners.standing("jo", second.id).status == "submitted"


def test_a_returned_submission_is_reopened_fixed_and_sent_again(app):
    review, earners, roster = app
    draft_id = built(earners, roster, locator="p. 3", overview="Too short to count.")
    assert any("overview is" in text and "words short" in text for text in must_fix(earners, draft_id))
    earners.submit("jo", draft_id)
    [item] = review.queue("lead")
    assert item.incomplete
    assert earners.standing("jo", draft_id).status == "submitted"
    review.return_to_earner("lead", item.submission, "The overview is far below its minimum.")
    standing = earners.standing("jo", draft_id)
    assert standing.status == "returned" and standing.can_reopen and not standing.can_start_next
    assert standing.reasons[0] == "The overview is far below its minimum."
    assert any("below its minimum of 40" in reason for reason in standing.reasons)

    reopened = earners.reopen("jo", draft_id)
    fixed = reopened.draft.model_copy(update={"parts": {"overview": PartDraft(text=OVERVIEW),
                                                        "reflection": PartDraft(text=REFLECTION)}})
    earners.save("jo", draft_id, fixed)
    assert earners.submit("jo", draft_id).status == "submitted"
    [item] = review.queue("lead")
    assert not item.incomplete and item.state == "awaiting_assignment"
    with pytest.raises(NotAllowed, match="was not returned"):
        earners.reopen("jo", draft_id)


def test_a_submission_the_queue_refuses_stays_a_draft(app):
    review, earners, roster = app
    draft_id = built(earners, roster, locator="p. 3")
    with review.sessions.begin() as s:  # the program has no active lead
        s.query(User).filter(User.role == "lead").update({"active": False})
    with pytest.raises(EarnerError, match="no lead account"):
        earners.submit("jo", draft_id)
    with review.sessions() as s:
        assert s.query(Submission).count() == 0
    assert earners.standing("jo", draft_id).status == "draft"
    assert not list(earners.submitted_dir.glob("*.zip"))


def test_the_self_check_screens_offline_whatever_the_review_drafts_with(app, world):
    from prescreen.review.wiring import LazyScreener
    from prescreen.settings import LLMSettings

    review, _, _ = app
    settings = world[0]
    assert EarnerService.from_settings(settings, review).check is review.screen  # offline: the assessors' own screen
    with_llm = settings.model_copy(update={"llm": LLMSettings(base_url="http://127.0.0.1:9/v1")})
    check = EarnerService.from_settings(with_llm, review).check
    assert isinstance(check, LazyScreener) and check.drafter == "extractive"  # never an LLM call per self-check
