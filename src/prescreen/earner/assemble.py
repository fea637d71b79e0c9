"""A draft submission, as an earner builds it, and the bundle it becomes: format v1, the same shape as a hand-made
one (submission.yaml at the root, parts beside it, artifacts under artifacts/), or a .zip of that folder.

Uploads pass the same guards as a zipped bundle's files: a name that cannot leave the bundle, a type the
screen reads, the per-file and whole-submission sizes and the artifact count of the settings' limits, each
with the screen's own message. A bundle is written into a temporary folder and renamed into place only when
complete, so a failed assemble leaves nothing half-written.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from prescreen.budgets import SubmissionBudget
from prescreen.bundle import DEFAULT_FIELD_CAP, FIELD_CAPS, MANIFEST_NAME, MIB, read_manifest, resolve_member
from prescreen.earner.errors import EarnerError, UploadError
from prescreen.errors import ExtractionError
from prescreen.extract import _locate as check_file  # the screen's own guards: place, type, size, emptiness
from prescreen.models import Earner, SelfAnalysisEntry
from prescreen.settings import LimitSettings

PART_SUFFIXES = (".md", ".txt", ".docx", ".pdf")
ARTIFACTS_DIR = "artifacts"
_UNSAFE = re.compile(r"[^\w.-]+")

Uploads = Mapping[str, Path]  # an uploaded file's name (as the draft names it) -> its bytes on disk


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartDraft(_Input):
    """A text part (the narrative, the reflection): written in a text box, or an uploaded file."""

    text: str | None = Field(None, description="Written in the text box; the bundle gets it as `<part>.md`.")
    upload: str | None = Field(None, description="The name of an uploaded file (.md, .txt, .docx or .pdf).")

    @model_validator(mode="after")
    def _one_of(self) -> PartDraft:
        if self.text is not None and self.upload is not None:
            raise ValueError("a part is written in the box or uploaded as a file, not both")
        return self


class ArtifactDraft(_Input):
    id: str = Field(min_length=1, max_length=DEFAULT_FIELD_CAP, description="A1, A2 ...: what pointers name.")
    title: str = Field("", max_length=FIELD_CAPS["title"])
    upload: str = Field(min_length=1, description="The name of the uploaded file.")


class Draft(_Input):
    """A submission being built: what the earner wrote and chose, with uploads named, not held."""

    credential: str = Field(min_length=1, description="The id of a rubric in the library.")
    submission_id: str | None = Field(None, max_length=DEFAULT_FIELD_CAP, description="Made up when the bundle is "
                                      "assembled if unset.")
    attempt: int = Field(1, ge=1)
    earner: Earner = Field(default_factory=Earner)
    parts: dict[str, PartDraft] = Field(default_factory=dict, description="Keys are the rubric's text part ids.")
    artifacts: list[ArtifactDraft] = Field(default_factory=list)
    self_analysis: list[SelfAnalysisEntry] = Field(default_factory=list, description="One entry per rubric detail.")
    revisit: list[str] = Field(default_factory=list, description="Details judged `not yet` on the previous attempt, "
                               "for the earner to work on (not written to the bundle).")

    def uploads(self) -> list[str]:
        """The upload names the draft uses, once each, in order."""
        names = [p.upload for p in self.parts.values() if p.upload] + [a.upload for a in self.artifacts]
        return list(dict.fromkeys(names))


def new_submission_id() -> str:
    return f"S-{datetime.now(UTC):%Y}-{uuid.uuid4().hex[:8]}"


def assemble(draft: Draft, files: Uploads, out_dir: Path, limits: LimitSettings | None = None) -> Path:
    """Write the draft as a bundle folder `out_dir` (new, or empty); UploadError or EarnerError, and nothing
    written, when an upload fails a guard."""
    return new_folder(out_dir, lambda work: _Writer(draft, files, work, limits or LimitSettings()).write())


def new_folder(out_dir: Path, fill: Callable[[Path], None]) -> Path:
    """`out_dir`, filled by `fill(folder)` in a temporary folder beside it and renamed into place when complete:
    whole or not at all. EarnerError when `out_dir` exists and is not an empty folder (nothing is overwritten)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise EarnerError(f"{out_dir} exists already: choose a new folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        fill(work)
        work.rename(out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return out_dir


def to_zip(bundle_dir: Path, zip_path: Path) -> Path:
    """The bundle folder as a .zip with submission.yaml at its root, written whole or not at all."""
    bundle_dir, zip_path = Path(bundle_dir), Path(zip_path)
    handle, partial = tempfile.mkstemp(prefix=f".{zip_path.name}-", dir=zip_path.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in bundle_dir.rglob("*") if p.is_file()):
                archive.write(path, path.relative_to(bundle_dir).as_posix())
        os.replace(partial, zip_path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return zip_path


def draft_from_bundle(root: Path) -> tuple[Draft, dict[str, Path]]:
    """A bundle folder as a draft and its uploads (each file named by its path in the bundle): to resume a
    hand-made bundle in the browser, or prefill a new attempt from the last."""
    manifest = read_manifest(Path(root))
    files = {relpath: resolve_member(root, relpath) for relpath in
             [*manifest.parts.values(), *(a.file for a in manifest.artifacts)]}
    draft = Draft(
        credential=manifest.credential, submission_id=manifest.submission_id, attempt=manifest.attempt,
        earner=manifest.earner, parts={pid: PartDraft(upload=path) for pid, path in manifest.parts.items()},
        artifacts=[ArtifactDraft(id=a.id, title=a.title, upload=a.file) for a in manifest.artifacts],
        self_analysis=manifest.self_analysis,
    )
    return draft, files


class _Writer:
    """Writes one draft into an empty folder: uploads checked and copied, text parts, then the manifest."""

    def __init__(self, draft: Draft, files: Uploads, root: Path, limits: LimitSettings):
        self.draft, self.files, self.root, self.limits = draft, files, root, limits
        self.placed: dict[str, str] = {}  # upload name -> its path in the bundle

    def write(self) -> None:
        parts = {pid: self.part(pid, part) for pid, part in self.draft.parts.items() if part.text or part.upload}
        budget = SubmissionBudget(self.limits)
        artifacts = []
        for artifact in self.draft.artifacts:
            relpath = self.upload(artifact.upload, ARTIFACTS_DIR)
            _guard(artifact.upload, lambda path=relpath: budget.admit(path, "artifact"))
            artifacts.append({"id": artifact.id, "file": relpath, "title": artifact.title})
        self.check_total()
        (self.root / MANIFEST_NAME).write_text(_manifest_yaml(self.draft, parts, artifacts), encoding="utf-8")
        read_manifest(self.root)  # what the screen reads: a fatal problem here is a bug, not a half-written bundle

    def part(self, part_id: str, part: PartDraft) -> str:
        if part.upload is None:
            relpath = f"{_safe_name(part_id)}.md"
            (self.root / relpath).write_text(part.text or "", encoding="utf-8")
            return relpath
        if Path(part.upload).suffix.lower() not in PART_SUFFIXES:
            raise UploadError(f"{part.upload}: a part must be a {', '.join(PART_SUFFIXES)} file: save it as one, "
                              "or paste its text in the box")
        return self.upload(part.upload, "", stem=_safe_name(part_id))

    def upload(self, name: str, folder: str, stem: str | None = None) -> str:
        """Copy an upload into the bundle (once, however many entries use it) and check it as the screen would."""
        if name in self.placed:
            return self.placed[name]
        source = self.files.get(name)
        if source is None or not Path(source).is_file():
            raise UploadError(f"{name} was not uploaded (or its upload was lost): upload it again")
        filename = _safe_name(name) if stem is None else stem + Path(name).suffix.lower()
        relpath = self.free(PurePosixPath(folder, filename).as_posix())
        target = self.root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        _guard(name, lambda: check_file(self.root, relpath, self.limits))
        self.placed[name] = relpath
        return relpath

    def free(self, relpath: str) -> str:
        """`relpath`, or `name-2.ext`, `name-3.ext` ... when another upload took it."""
        path, n = PurePosixPath(relpath), 1
        while (self.root / relpath).exists():
            n += 1
            relpath = path.with_name(f"{path.stem}-{n}{path.suffix}").as_posix()
        return relpath

    def check_total(self) -> None:
        total = sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())
        if total > self.limits.max_zip_total_mb * MIB:
            raise UploadError(f"the files come to {total / MIB:.1f} MB, "
                              f"more than the {self.limits.max_zip_total_mb:g} MB "
                              "a whole submission may hold: make the largest smaller (compress images, split) or "
                              "keep only the ones that show evidence")


def check_upload(name: str, path: Path, limits: LimitSettings) -> None:
    """UploadError, with the screen's own message, when the file uploaded as `name` could never go into a bundle:
    a type the screen cannot read, larger than a file may be, or empty. For storing an upload before assembly."""
    with tempfile.TemporaryDirectory(prefix="upload-") as folder:
        copy = Path(folder) / _safe_name(name)
        shutil.copyfile(path, copy)
        _guard(name, lambda: check_file(Path(folder), copy.name, limits))


def _guard(name: str, check) -> None:
    """Run a check of the screen's; its ExtractionError becomes an UploadError naming the upload."""
    try:
        check()
    except ExtractionError as exc:
        raise UploadError(f"{name}: {exc}") from None


def _safe_name(name: str) -> str:
    """A file name that stays one name in any bundle and zip: the last path component, plain characters."""
    base = PurePosixPath(name.replace("\\", "/")).name
    cleaned = _UNSAFE.sub("-", base).lstrip(".-")
    return cleaned if PurePosixPath(cleaned).stem else f"file{cleaned}"


def _manifest_yaml(draft: Draft, parts: dict[str, str], artifacts: list[dict]) -> str:
    manifest = {
        "format": 1,
        "submission_id": draft.submission_id or new_submission_id(),
        "credential": draft.credential,
        "attempt": draft.attempt,
        "earner": draft.earner.model_dump(exclude_none=True),
        "parts": parts,
        "artifacts": artifacts,
        "self_analysis": [entry.model_dump(exclude_none=True) for entry in draft.self_analysis],
    }
    return yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100)
