"""Blind by construction: everything an assessor reads goes through one Masker per submission.

The earner's identity is the manifest's name, e-mail and organisation (`identity_terms`); review/deidentify.py
derives every term from it (name parts, e-mail local part, organisation parts and initials) and owns the one
placeholder vocabulary ([EARNER], [ORGANIZATION], [EMAIL], [PHONE], [PERSON]). A Masker runs the chosen
`deidentify(text, names)` (Presidio by default), then `mask_identity` over its output, so a miss of the model
never shows the earner. A screening run is parsed once into a Snapshot (runs never change: a re-screen adds
one) that carries its Masker.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from prescreen.models import Manifest, Rubric, Source
from prescreen.report import DetailFinding, Report
from prescreen.review.db import ScreeningRun, Submission
from prescreen.review.deidentify import earner_names, mask_identity
from prescreen.review.errors import NotFound

Deidentify = Callable[[str, list[str]], str]
Mask = Callable[[str | None], str]


# ---------------------------------------------------------------- masking identity


def identity_terms(manifest: Manifest | None) -> list[str]:
    """The earner's identity as the manifest states it (name, e-mail, organisation): deidentify's `extra_names`."""
    return earner_names(manifest.earner) if manifest is not None else []


def default_deidentify() -> Deidentify:
    """Presidio-based masking (review/deidentify.py); a missing dependency fails loudly, never silently weaker."""
    from prescreen.review.deidentify import mask

    return mask


class Masker:
    """deidentify() for one earner, then the earner's identity masked again: blind even if it misses one."""

    def __init__(self, deidentify: Deidentify, terms: list[str]):
        self.deidentify, self.terms = deidentify, terms
        self.cache: dict[str, str] = {}

    def __call__(self, text: str | None) -> str:
        if not text:
            return text or ""
        if text not in self.cache:
            self.cache[text] = mask_identity(self.deidentify(text, list(self.terms)), self.terms)
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
