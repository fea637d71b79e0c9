"""EarnerService: what an earner does in the app, over their drafts (store.py) and the program's review.

Build a draft for a credential of the rubric library, upload parts and artifacts, pick the places to point to
(places.py), run the self-check (the offline Screener, as `prescreen check` runs it, in the earner's words:
selfcheck.py), submit (the bundle goes to the program's queue through ReviewService.ingest, screened and
pre-checked as any other), download it as a .zip, follow its standing (standing.py) and start the next attempt
after a `not yet`.

Every method takes the signed-in username: only an earner may call them, and only on their own drafts
(NotAllowed otherwise). Nothing here returns an assessor's identity, decisions or the drafted findings.
No gradio in here: ui/earner*.py is a thin edge over it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from prescreen.earner.assemble import Draft, Uploads, new_submission_id, to_zip
from prescreen.earner.errors import EarnerError, NotAllowed
from prescreen.earner.places import FilePlaces, read_places
from prescreen.earner.selfcheck import SelfCheck, self_check
from prescreen.earner.standing import STATUS_WORDS, EarnerStatus, ReviewStanding, review_standing
from prescreen.earner.store import DraftStore, DraftSummary, StoredDraft
from prescreen.errors import PrescreenError
from prescreen.models import Earner, Rubric, SelfAnalysisEntry
from prescreen.review.rules import MAX_ATTEMPTS, ScoreValue
from prescreen.review.wiring import LazyScreener
from prescreen.rubrics import RubricLibrary

if TYPE_CHECKING:
    from prescreen.pipeline import Screening
    from prescreen.review.service import ReviewService
    from prescreen.settings import Settings

EARNER_ROLE = "earner"
PLACES_KEPT = 256  # files whose places are kept in memory (by content), oldest dropped first


class DetailFeedback(BaseModel):
    """A detail of a final result, with its text: the score and the assessors' feedback."""

    detail_id: str
    text: str = ""
    score: ScoreValue
    feedback: str = ""


class Standing(BaseModel):
    """Where one of the earner's drafts stands, and what they can do with it now."""

    draft_id: int
    credential: str
    rubric_title: str = ""
    attempt: int
    status: EarnerStatus
    words: str = Field(description="The status in a few words, for a list.")
    submission_code: str | None = None
    updated_at: datetime
    reasons: list[str] = Field(default_factory=list, description="Why it was returned as incomplete.")
    feedback: list[DetailFeedback] = Field(default_factory=list, description="Per detail, once the result is final.")
    decided_at: datetime | None = None
    can_edit: bool = False
    can_reopen: bool = False
    can_start_next: bool = False


class EarnerService:
    """An earner's work over `store`, handed to the program's `review` on submit.

    `check` screens a bundle folder for the self-check; `intake` is the lead account submissions are ingested
    as (default: the first active lead); submitted bundles are kept as .zip files in `submitted_dir`."""

    def __init__(self, review: ReviewService, store: DraftStore, rubrics: RubricLibrary,
                 check: Callable[[Path], Screening], submitted_dir: Path, intake: str | None = None,
                 max_attempts: int = MAX_ATTEMPTS):
        self.review, self.store, self.rubrics, self.check = review, store, rubrics, check
        self.submitted_dir, self.intake, self.max_attempts = Path(submitted_dir), intake, max_attempts
        self._places: dict[tuple[str, str], FilePlaces] = {}  # (the upload's sha256, artifact id) -> its places

    @classmethod
    def from_settings(cls, settings: Settings, review: ReviewService) -> EarnerService:
        """Drafts in the review's database; the rubric library of `settings`; for the self-check the review's own
        screen when it runs offline (one embedding model in memory), else an offline one (no LLM call per check)."""
        check = review.screen if not settings.llm_configured else LazyScreener(settings, "extractive")
        return cls(review, DraftStore(review.sessions, settings.limits), RubricLibrary(settings.rubrics_dir), check,
                   settings.data_dir / "submitted")

    # ------------------------------------------------------------ who may act

    def earner(self, username: str) -> None:
        """NotAllowed unless `username` is an active earner's account."""
        try:
            role = self.review.user(username).role
        except PrescreenError:
            raise NotAllowed(f"{username!r} is not a known user: sign in again") from None
        if role != EARNER_ROLE:
            raise NotAllowed(f"{username} is a{'n' if role == 'assessor' else ''} {role}: only earners build "
                             "and submit their own work here")

    def credentials(self) -> list[Rubric]:
        """The rubric library: what a submission can be built for."""
        return list(self.rubrics.all().values())

    # ------------------------------------------------------------ drafts

    def drafts(self, username: str) -> list[Standing]:
        self.earner(username)
        summaries = self.store.list_drafts(username)
        return [self._standing(summary, summaries) for summary in summaries]

    def create(self, username: str, credential: str) -> StoredDraft:
        """A new draft for `credential`, with its submission id and an empty entry for every rubric detail."""
        self.earner(username)
        rubric = self.rubrics.get(credential)
        name = self.review.user(username).display_name or None
        draft = Draft(credential=rubric.id, submission_id=new_submission_id(), earner=Earner(name=name),
                      self_analysis=[SelfAnalysisEntry(detail=d.id) for d in rubric.details])
        return self.store.save_draft(username, draft)

    def open(self, username: str, draft_id: int) -> StoredDraft:
        self.earner(username)
        return self.store.load_draft(username, draft_id)

    def save(self, username: str, draft_id: int, draft: Draft, uploads: Uploads | None = None) -> StoredDraft:
        """Save what the earner wrote and chose; the credential, submission id, attempt and details to revisit
        stay as the draft has them (they are not the earner's to change)."""
        kept = self.open(username, draft_id).draft
        draft = draft.model_copy(update={"credential": kept.credential, "submission_id": kept.submission_id,
                                         "attempt": kept.attempt, "revisit": kept.revisit})
        return self.store.save_draft(username, Draft.model_validate(draft.model_dump()), uploads, draft_id=draft_id)

    # ------------------------------------------------------------ places, self-check, download

    def places(self, username: str, draft_id: int, artifact_id: str) -> FilePlaces:
        """The places of an artifact's file a pointer can name, as the screen reads the file."""
        stored = self.open(username, draft_id)
        upload = next((a.upload for a in stored.draft.artifacts if a.id == artifact_id), None)
        if upload is None:
            raise EarnerError(f"there is no artifact {artifact_id} in this draft: add it, or pick one of yours")
        key = (next((u.sha256 for u in stored.uploads if u.name == upload), ""), artifact_id)
        if key not in self._places:  # a file is read once, however often its places are shown
            with tempfile.TemporaryDirectory(prefix="places-") as folder:
                [path] = self.store.export_uploads(username, draft_id, Path(folder), [upload]).values()
                self._places[key] = read_places(Path(folder), path.name, artifact_id, self.store.limits)
            while len(self._places) > PLACES_KEPT:
                self._places.pop(next(iter(self._places)))
        return self._places[key].model_copy(update={"file": upload})

    def self_check(self, username: str, draft_id: int) -> SelfCheck:
        """The pre-check of the draft as it is saved: the bundle it makes, screened offline, in the earner's words."""
        self.earner(username)
        with self._bundle(username, draft_id) as bundle:
            return self_check(self.check(bundle))

    def download(self, username: str, draft_id: int, folder: Path) -> Path:
        """The draft's bundle as `<submission id>-attempt-<n>.zip` in `folder`."""
        self.earner(username)
        with self._bundle(username, draft_id) as bundle:
            return to_zip(bundle, Path(folder) / _zip_name(self.store.load_draft(username, draft_id).draft))

    @contextmanager
    def _bundle(self, username: str, draft_id: int) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="draft-") as folder:
            yield self.store.assemble(username, draft_id, Path(folder) / "bundle")

    # ------------------------------------------------------------ submit and after

    def submit(self, username: str, draft_id: int) -> Standing:
        """Send the draft to the program's queue: ingested (screened, pre-checked) as the intake lead, kept as a
        .zip, and the draft marked submitted (read-only). Nothing is marked when the ingest is refused."""
        stored = self.open(username, draft_id)
        if stored.status != "draft":
            raise NotAllowed(f"draft #{draft_id} was submitted already as {stored.submission_code}")
        lead = self._intake()
        self.submitted_dir.mkdir(parents=True, exist_ok=True)
        with self._bundle(username, draft_id) as bundle:
            stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
            archive = to_zip(bundle, self.submitted_dir / _zip_name(stored.draft, stamp))
        try:
            self.review.ingest(lead, archive)
        except BaseException:
            archive.unlink(missing_ok=True)
            raise
        self.store.mark_submitted(username, draft_id, stored.draft.submission_id or "")
        return self.standing(username, draft_id)

    def standing(self, username: str, draft_id: int) -> Standing:
        return self._standing(self.open(username, draft_id), self.store.list_drafts(username))

    def next_attempt(self, username: str, draft_id: int) -> StoredDraft:
        """Attempt n+1 after a `not yet earned` result, prefilled from this one, its `not yet` details marked."""
        standing = self.standing(username, draft_id)
        if not standing.can_start_next:
            raise NotAllowed(_why_no_next(standing, self.max_attempts))
        revisit = [f.detail_id for f in standing.feedback if f.score == "not_yet"]
        return self.store.new_attempt(username, draft_id, revisit, self.max_attempts)

    def reopen(self, username: str, draft_id: int) -> StoredDraft:
        """A submission the program returned as incomplete, editable again to fix and submit (same attempt)."""
        if not self.standing(username, draft_id).can_reopen:
            raise NotAllowed(f"draft #{draft_id} was not returned: only a returned submission is reopened")
        return self.store.reopen(username, draft_id)

    def _intake(self) -> str:
        if self.intake:
            return self.intake
        leads = self.review.leads()
        if not leads:
            raise EarnerError("the program has no lead account to receive submissions yet: ask the program to "
                              "create one (prescreen users add NAME --role lead), then submit again")
        return leads[0].username

    def _standing(self, summary: DraftSummary, drafts: list[DraftSummary]) -> Standing:
        """`summary`'s standing; `drafts`, all of its owner's, tell whether a next attempt was started."""
        review = (review_standing(self.store.sessions, summary.submission_code, summary.attempt)
                  if summary.status == "submitted" and summary.submission_code else None)
        status: EarnerStatus = review.status if review else ("submitted" if summary.status == "submitted" else "draft")
        rubric = self._rubric(summary.credential)
        texts = {d.id: d.text for d in rubric.details} if rubric else {}
        later = any(d.previous_id == summary.id for d in drafts)
        return Standing(
            draft_id=summary.id, credential=summary.credential, rubric_title=rubric.title if rubric else "",
            attempt=summary.attempt, status=status, words=STATUS_WORDS[status], submission_code=summary.submission_code,
            updated_at=summary.updated_at, reasons=review.reasons if review else [],
            feedback=_feedback(review, texts), decided_at=review.decided_at if review else None,
            can_edit=summary.status == "draft", can_reopen=status == "returned",
            can_start_next=status == "not_yet_earned" and summary.attempt < self.max_attempts and not later,
        )

    def _rubric(self, credential: str) -> Rubric | None:
        try:
            return self.rubrics.get(credential)
        except PrescreenError:
            return None


def _feedback(review: ReviewStanding | None, texts: dict[str, str]) -> list[DetailFeedback]:
    if review is None:
        return []
    return [DetailFeedback(detail_id=r.detail_id, text=texts.get(r.detail_id, ""), score=r.score, feedback=r.feedback)
            for r in review.results]


def _why_no_next(standing: Standing, max_attempts: int) -> str:
    if standing.status != "not_yet_earned":
        return f"a next attempt starts from a `not yet earned` result; this one is {standing.words}"
    if standing.attempt >= max_attempts:
        return f"attempt {standing.attempt} was the last of the {max_attempts} the program allows"
    return "the next attempt is started already: open it in My submissions"


def _zip_name(draft: Draft, stamp: str = "") -> str:
    return f"{draft.submission_id}-attempt-{draft.attempt}{'-' + stamp if stamp else ''}.zip"
