"""The review workflow's errors: each says what was refused and what is allowed instead.

The CLI turns them into one line and an exit status, the UI into one `gr.Error`."""

from __future__ import annotations

from prescreen.errors import PrescreenError


class ReviewError(PrescreenError):
    """A workflow rule refused an action; the message says what is allowed instead."""


class NotAllowed(ReviewError):
    """The user's role, or their assignments, do not allow this."""


class InvalidTransition(ReviewError):
    """The submission's state does not allow this action now."""


class NotFound(ReviewError):
    """No such submission, user or detail."""


class AuthError(ReviewError):
    """Unknown user, wrong password, or an inactive account."""


class InvalidInput(ReviewError):
    """An argument breaks a rule (an override without a reason, an inconsistent recommendation, a bundle that
    cannot be screened)."""
