"""Earners' drafts in the review database: save, resume, list, submit; each earner reaches only their own.

A draft is stored as its JSON (assemble.Draft) with its uploads as blobs, saved in one transaction, so a failed
upload leaves nothing half-written. The tables are made by migration 0003 on the review database's Base, so
one `upgrade()` brings both up to date. The edge (CLI, UI) says who the owner is; every function here checks it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from prescreen.bundle import MIB
from prescreen.earner.assemble import Draft, Uploads, assemble, check_upload
from prescreen.earner.errors import DraftNotFound, NotAllowed, UploadError
from prescreen.review.db import Base, aware, database_url, make_engine, session_factory, upgrade, utcnow
from prescreen.settings import LimitSettings, Settings

DraftStatus = Literal["draft", "submitted"]
WHEN = DateTime(timezone=True)
DEFAULT_MAX_ATTEMPTS = 3  # a first attempt and two resubmissions, as the README's programs allow


class EarnerDraft(Base):
    """A submission an earner is building (status `draft`) or has submitted (`submitted`, then read-only)."""

    __tablename__ = "earner_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True, doc="The earner's username.")
    credential: Mapped[str] = mapped_column(String(128))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    draft_json: Mapped[str] = mapped_column(Text)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("earner_drafts.id"), doc="The attempt before this one.")
    submission_code: Mapped[str | None] = mapped_column(String(128), doc="The bundle's submission_id once submitted.")
    created_at: Mapped[datetime] = mapped_column(WHEN, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(WHEN, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(WHEN)


class EarnerFile(Base):
    """One uploaded file of a draft, by the name the draft uses for it."""

    __tablename__ = "earner_files"
    __table_args__ = (UniqueConstraint("draft_id", "name", name="uq_earner_files_draft_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("earner_drafts.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(WHEN, default=utcnow)


class UploadInfo(BaseModel):
    name: str
    size: int
    sha256: str


class DraftSummary(BaseModel):
    """A line of an earner's list of drafts."""

    id: int
    credential: str
    attempt: int
    status: DraftStatus
    updated_at: datetime
    submission_code: str | None = None
    previous_id: int | None = None


class StoredDraft(DraftSummary):
    owner: str
    draft: Draft
    uploads: list[UploadInfo]
    created_at: datetime
    submitted_at: datetime | None = None


class DraftStore:
    """Drafts and their uploads over the review database's sessions; `owner` is checked on every call."""

    def __init__(self, sessions: sessionmaker, limits: LimitSettings | None = None):
        self.sessions = sessions
        self.limits = limits or LimitSettings()

    @classmethod
    def from_settings(cls, settings: Settings) -> DraftStore:
        engine = make_engine(database_url(settings))
        upgrade(engine)
        return cls(session_factory(engine), settings.limits)

    def save_draft(self, owner: str, draft: Draft, uploads: Uploads | None = None, draft_id: int | None = None,
                   previous_id: int | None = None) -> StoredDraft:
        """Create a draft (no `draft_id`) or update the owner's draft; uploads replace files of the same name,
        and files the draft no longer names are dropped. UploadError, and nothing saved, when an upload fails."""
        uploads = dict(uploads or {})
        for name, path in uploads.items():
            check_upload(name, path, self.limits)
        with self.sessions.begin() as session:
            row = (self._editable(session, owner, draft_id) if draft_id is not None
                   else self._new(session, owner, previous_id))
            row.credential, row.attempt, row.updated_at = draft.credential, draft.attempt, utcnow()
            row.draft_json = draft.model_dump_json()
            self._store_files(session, row, uploads, keep=set(draft.uploads()) | set(uploads))
            session.flush()
            return self._view(session, row)

    def load_draft(self, owner: str, draft_id: int) -> StoredDraft:
        with self.sessions() as session:
            return self._view(session, self._owned(session, owner, draft_id))

    def list_drafts(self, owner: str) -> list[DraftSummary]:
        with self.sessions() as session:
            rows = session.scalars(select(EarnerDraft).where(EarnerDraft.owner == owner).order_by(EarnerDraft.id))
            return [_summary(row) for row in rows]

    def export_uploads(self, owner: str, draft_id: int, folder: Path, names: Iterable[str] | None = None
                       ) -> dict[str, Path]:
        """The draft's uploads (or those of `names`) written into `folder`, one numbered file each: what
        assemble() takes."""
        folder.mkdir(parents=True, exist_ok=True)
        with self.sessions() as session:
            row = self._owned(session, owner, draft_id)
            query = select(EarnerFile).where(EarnerFile.draft_id == row.id).order_by(EarnerFile.id)
            if names is not None:
                query = query.where(EarnerFile.name.in_(list(names)))
            files = session.scalars(query)
            out = {}
            for n, stored in enumerate(files, start=1):
                out[stored.name] = folder / f"{n}{Path(stored.name).suffix.lower()}"
                out[stored.name].write_bytes(stored.content)
            return out

    def assemble(self, owner: str, draft_id: int, out_dir: Path) -> Path:
        """The owner's draft as a bundle folder (see assemble.assemble): the bundle to screen, download or submit."""
        draft = self.load_draft(owner, draft_id).draft
        work = Path(tempfile.mkdtemp(prefix="uploads-"))
        try:
            return assemble(draft, self.export_uploads(owner, draft_id, work), out_dir, self.limits)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def mark_submitted(self, owner: str, draft_id: int, submission_code: str) -> StoredDraft:
        """The draft went to the program's queue as `submission_code`: from now on it is read-only."""
        with self.sessions.begin() as session:
            row = self._editable(session, owner, draft_id)
            row.status, row.submission_code = "submitted", submission_code
            row.submitted_at = row.updated_at = utcnow()
            return self._view(session, row)

    def reopen(self, owner: str, draft_id: int) -> StoredDraft:
        """A submitted draft made editable again, keeping its submission code and attempt: for a submission the
        program returned as incomplete, to fix and send again (the caller checks that it was returned)."""
        with self.sessions.begin() as session:
            row = self._owned(session, owner, draft_id)
            if row.status != "submitted":
                raise NotAllowed(f"draft #{draft_id} is not submitted: keep working on it")
            row.status, row.submitted_at, row.updated_at = "draft", None, utcnow()
            return self._view(session, row)

    def new_attempt(
        self, owner: str, draft_id: int, revisit: Iterable[str] = (), max_attempts: int = DEFAULT_MAX_ATTEMPTS
    ) -> StoredDraft:
        """The next attempt after a submitted one, prefilled from it (its draft and uploads), with the details to
        revisit (judged `not yet`) marked; NotAllowed before the last attempt was submitted or past the limit."""
        with self.sessions.begin() as session:
            last = self._owned(session, owner, draft_id)
            if last.status != "submitted":
                raise NotAllowed(f"draft #{draft_id} is not submitted yet: keep working on it instead")
            if last.attempt >= max_attempts:
                raise NotAllowed(f"attempt {last.attempt} was the last of the {max_attempts} the program allows")
            draft = Draft.model_validate_json(last.draft_json).model_copy(
                update={"attempt": last.attempt + 1, "revisit": list(dict.fromkeys(revisit))})
            row = self._new(session, owner, previous_id=last.id)
            row.credential, row.attempt, row.draft_json = draft.credential, draft.attempt, draft.model_dump_json()
            session.flush()
            for old in session.scalars(select(EarnerFile).where(EarnerFile.draft_id == last.id)):
                session.add(EarnerFile(draft_id=row.id, name=old.name, size=old.size, sha256=old.sha256,
                                       content=old.content, uploaded_at=old.uploaded_at))
            session.flush()
            return self._view(session, row)

    # -- rows, with the owner checked

    def _owned(self, session: Session, owner: str, draft_id: int) -> EarnerDraft:
        row = session.get(EarnerDraft, draft_id)
        if row is None:
            raise DraftNotFound(f"there is no draft #{draft_id}")
        if row.owner != owner:
            raise NotAllowed(f"draft #{draft_id} is not yours: you can open only your own drafts")
        return row

    def _editable(self, session: Session, owner: str, draft_id: int) -> EarnerDraft:
        row = self._owned(session, owner, draft_id)
        if row.status != "draft":
            raise NotAllowed(f"draft #{draft_id} was submitted as {row.submission_code} and cannot change: "
                             "start a new attempt to change it")
        return row

    def _new(self, session: Session, owner: str, previous_id: int | None) -> EarnerDraft:
        if previous_id is not None:
            self._owned(session, owner, previous_id)
        row = EarnerDraft(owner=owner, status="draft", previous_id=previous_id, created_at=utcnow())
        session.add(row)
        return row

    def _store_files(self, session: Session, row: EarnerDraft, uploads: Mapping[str, Path], keep: set[str]) -> None:
        session.flush()  # the draft's id, for a new one
        stored = {f.name: f for f in session.scalars(select(EarnerFile).where(EarnerFile.draft_id == row.id))}
        for name, path in uploads.items():
            data = Path(path).read_bytes()
            file = stored.get(name) or EarnerFile(draft_id=row.id, name=name)
            file.content, file.size, file.sha256 = data, len(data), hashlib.sha256(data).hexdigest()
            file.uploaded_at = utcnow()
            stored[name] = file
            session.add(file)
        for name in [n for n in stored if n not in keep]:
            session.delete(stored.pop(name))
        total = sum(f.size for f in stored.values())
        if total > self.limits.max_zip_total_mb * MIB:
            raise UploadError(f"the draft's files come to {total / MIB:.1f} MB, more than the "
                              f"{self.limits.max_zip_total_mb:g} MB a whole submission may hold: make the largest "
                              "smaller, or keep only the ones that show evidence")

    def _view(self, session: Session, row: EarnerDraft) -> StoredDraft:
        files = session.scalars(select(EarnerFile).where(EarnerFile.draft_id == row.id).order_by(EarnerFile.id))
        return StoredDraft(
            **_summary(row).model_dump(), owner=row.owner, draft=Draft.model_validate(json.loads(row.draft_json)),
            uploads=[UploadInfo(name=f.name, size=f.size, sha256=f.sha256) for f in files],
            created_at=aware(row.created_at), submitted_at=aware(row.submitted_at),
        )


def _summary(row: EarnerDraft) -> DraftSummary:
    return DraftSummary(id=row.id, credential=row.credential, attempt=row.attempt, status=row.status,
                        updated_at=aware(row.updated_at), submission_code=row.submission_code,
                        previous_id=row.previous_id)
