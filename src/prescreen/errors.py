"""The core's small error hierarchy. The CLI and the UI translate these once, at the edge."""

from __future__ import annotations


class PrescreenError(Exception):
    """Base class: a problem the user can fix. The message says what and how."""


class RubricError(PrescreenError):
    """A rubric file is missing or invalid (names the file and the place)."""


class UnknownRubricError(RubricError):
    """No rubric has the requested id."""


class BundleError(PrescreenError):
    """The bundle cannot be screened at all (unparsable manifest, unknown credential, hostile zip)."""


class UnsafeArchiveError(BundleError):
    """A zip that tries to escape its folder, holds links, or would explode on extraction."""


class ExtractionError(PrescreenError):
    """One file could not be turned into text. Carries the report's problem kind."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class ConfigurationError(PrescreenError):
    """Settings that cannot work together (e.g. OpenAI embeddings without a key)."""
