"""Per-file and per-submission budgets of extraction: artifacts, characters and pages.

Past a budget a file is not read further: it becomes a `too_large` problem that says what to do, so no
submission, however large, makes a screen hang or run out of memory. Artifacts that name the same file are
read once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prescreen.errors import ExtractionError
from prescreen.settings import LimitSettings

Content = dict[str, Any]  # a Source's fields that depend on the file's bytes (segments, page_count, blank_pages)


@dataclass
class SubmissionBudget:
    """What one screening has read so far, against the limits."""

    limits: LimitSettings
    artifacts: int = 0
    chars: int = 0
    pages: int = 0
    read: dict[Path, Content | ExtractionError] = field(default_factory=dict)  # resolved path -> what reading gave

    def admit(self, relpath: str, role: str) -> None:
        """Count one more artifact of the submission (parts are not counted); too_large past `max_artifacts`."""
        if role != "artifact":
            return
        self.artifacts += 1
        if self.artifacts > self.limits.max_artifacts:
            raise ExtractionError("too_large", (
                f"the submission lists more than the limit of {self.limits.max_artifacts} artifacts, so {relpath} "
                "was not read: keep the artifacts that show evidence and combine or remove the rest"))

    def once(self, key: Path | None, read: Callable[[], Content]) -> Content:
        """`read()` for the file at `key`, or what it gave (or raised) the first time: a file is read once."""
        if key is None:
            return read()
        if key not in self.read:
            try:
                self.read[key] = read()
            except ExtractionError as exc:
                self.read[key] = exc
        found = self.read[key]
        if isinstance(found, ExtractionError):
            raise ExtractionError(found.kind, str(found))
        return found

    def charge(self, content: Content, role: str) -> None:
        """Spend one file's characters and pages; too_large past a per-file or per-submission budget.

        A part (the narrative, the reflection) has its own cap and is not charged to the artifacts' totals, so no
        number of artifacts read before it can leave it out."""
        chars, pages = count_chars(content), content.get("page_count") or 0
        _check(pages, self.limits.max_file_pages, "the file has {n:,} pages")
        if role != "artifact":
            _check(chars, self.limits.max_part_chars, "the part holds {n:,} characters of text")
            return
        _check(chars, self.limits.max_file_chars, "the file holds {n:,} characters of text")
        _check(self.chars + chars, self.limits.max_total_chars,
               "with this file, the submission's artifacts hold {n:,} characters of text")
        _check(self.pages + pages, self.limits.max_total_pages,
               "with this file, the submission's artifacts have {n:,} pages")
        self.chars, self.pages = self.chars + chars, self.pages + pages


def _check(amount: int, limit: int, said: str) -> None:
    if amount > limit:
        raise ExtractionError("too_large", (
            f"{said.format(n=amount)}, more than the limit of {limit:,}: split the file, or keep only the parts "
            "that show evidence for the rubric, and upload it again"))


def count_chars(content: Content) -> int:
    return sum(len(segment.get("text") or "") for segment in content.get("segments") or [])
