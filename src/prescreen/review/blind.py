"""Blind by construction: everything an assessor reads goes through one Masker per submission.

The earner's identity (name, its parts, e-mail, organisation) is derived once, here, from the manifest;
`deidentify(text, terms)` (Presidio, review/deidentify.py) masks personal data, then the identity terms are
masked again, so a miss of the model never shows the earner. A screening run is parsed once into a Snapshot
(runs never change: a re-screen adds one) that carries its Masker.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from prescreen.models import Manifest, Rubric, Source
from prescreen.report import DetailFinding, Report
from prescreen.review.db import ScreeningRun, Submission
from prescreen.review.errors import NotFound

Deidentify = Callable[[str, list[str]], str]
Mask = Callable[[str | None], str]


# ---------------------------------------------------------------- masking identity


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-])")


def identity_terms(manifest: Manifest | None) -> list[str]:
    """The earner's name, its capitalised parts, e-mail and organisation (and its comma-separated parts)."""
    if manifest is None:
        return []
    earner = manifest.earner
    name, org = earner.name or "", earner.organization or ""
    terms = [name, earner.email or "", org, *(p for p in name.split() if p[:1].isupper())]
    terms += [part.strip() for part in org.split(",")]
    cleaned = {t.strip(" .,;:()") for t in terms}
    return sorted((t for t in cleaned if len(t) >= 2), key=lambda t: (-len(t), t))


def terms_pattern(terms: list[str]) -> re.Pattern | None:
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def fallback_mask(text: str, names: list[str]) -> str:
    """Masks e-mails, phone numbers and the given names only: a fast stand-in for tests, not for assessors."""
    text = _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))
    pattern = terms_pattern(names)
    return pattern.sub("[name]", text) if pattern else text


def default_deidentify() -> Deidentify:
    """Presidio-based masking (review/deidentify.py); a missing dependency fails loudly, never silently weaker."""
    from prescreen.review.deidentify import mask

    return mask


class Masker:
    """deidentify() for one earner, then the earner's exact identity masked again: blind even if it misses one."""

    def __init__(self, deidentify: Deidentify, terms: list[str]):
        self.deidentify, self.terms = deidentify, terms
        self.pattern = terms_pattern(terms)
        self.cache: dict[str, str] = {}

    def __call__(self, text: str | None) -> str:
        if not text:
            return text or ""
        if text not in self.cache:
            masked = self.deidentify(text, list(self.terms))
            self.cache[text] = self.pattern.sub("[redacted]", masked) if self.pattern else masked
        return self.cache[text]


def unmasked(text: str | None) -> str:
    return text or ""


# ---------------------------------------------------------------- a screening run, parsed


@dataclass
class Snapshot:
    """The latest screening run of a submission, parsed once (runs never change: a re-screen adds one)."""

    run_id: int
    version: int
    report: Report
    sources: dict[str, Source]
    manifest: Manifest | None
    rubric: Rubric | None
    mask: Masker

    @classmethod
    def load(cls, run: ScreeningRun, deidentify: Deidentify) -> Snapshot:
        manifest = Manifest.model_validate_json(run.manifest_json) if run.manifest_json else None
        return cls(
            run.id, run.version, Report.model_validate_json(run.report_json),
            {k: Source.model_validate(v) for k, v in json.loads(run.sources_json).items()},
            manifest, Rubric.model_validate_json(run.rubric_json) if run.rubric_json else None,
            Masker(deidentify, identity_terms(manifest)),
        )

    @property
    def detail_ids(self) -> list[str]:
        return [f.detail_id for f in self.report.details]

    def finding(self, detail_id: str) -> DetailFinding:
        for finding in self.report.details:
            if finding.detail_id == detail_id:
                return finding
        raise NotFound(f"{detail_id!r} is not a detail of this submission: use one of {', '.join(self.detail_ids)}")

    def detail_text(self, detail_id: str) -> str:
        details = {d.id: d.text for d in self.rubric.details} if self.rubric else {}
        return details.get(detail_id, "")



def latest_run_id(s: Session, sub: Submission) -> int:
    run_id = s.scalar(select(ScreeningRun.id).where(ScreeningRun.submission_id == sub.id)
                      .order_by(ScreeningRun.version.desc()).limit(1))
    if run_id is None:  # every submission is stored with its first run: only a damaged database lacks one
        raise NotFound(f"submission #{sub.id} has no screening run: ingest its bundle again")
    return run_id


class Snapshots:
    """The snapshots of the latest runs, parsed once and kept (the most recent KEPT), shared by threads."""

    KEPT = 32

    def __init__(self, deidentify: Deidentify):
        self.deidentify = deidentify
        self._kept: dict[int, Snapshot] = {}
        self._lock = threading.Lock()

    def latest(self, s: Session, sub: Submission) -> Snapshot:
        run_id = latest_run_id(s, sub)
        with self._lock:
            snap = self._kept.get(run_id)
        if snap is None:
            snap = Snapshot.load(s.get_one(ScreeningRun, run_id), self.deidentify)
            with self._lock:
                while len(self._kept) >= self.KEPT:
                    self._kept.pop(next(iter(self._kept)))
                self._kept[run_id] = snap
        return snap
