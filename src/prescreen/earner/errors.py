"""The earner side's errors: each says what is wrong and how to fix it (the CLI and UI show the message)."""

from __future__ import annotations

from prescreen.errors import PrescreenError


class EarnerError(PrescreenError):
    """A problem with an earner's draft, upload or bundle."""


class UploadError(EarnerError):
    """An uploaded file that cannot go into a bundle (type, size, name, count)."""


class NotAllowed(EarnerError):
    """The draft belongs to another earner (or the action is not open to them)."""


class DraftNotFound(EarnerError):
    """No draft has this id."""
