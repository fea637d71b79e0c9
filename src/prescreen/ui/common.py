"""Small helpers shared by the tabs: who is signed in, errors as one warning, and HTML built from escaped text.

Everything that comes from a submission is untrusted: it goes through `esc` (html.escape) before it is put
into HTML, and a quote is highlighted with <mark> only after escaping.
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

import gradio as gr

from prescreen.errors import PrescreenError
from prescreen.review.workflow import DRAFT_STATUSES, AuthError, ReviewService, UserView

log = logging.getLogger("prescreen.ui")
F = TypeVar("F", bound=Callable)

AUTH_MESSAGE = (
    "Sign in with your prescreen account; your program lead creates it (prescreen users add). "
    "Trying it out? After running prescreen demo, the demo accounts lead, ana and ben exist: "
    "the command prints their passwords."
)
SCORE_CHOICES = [("Demonstrated", "demonstrated"), ("Not yet", "not_yet")]
STATUS_CHOICES = list(DRAFT_STATUSES)


# ---------------------------------------------------------------- sign-in and the current user


def make_auth(service: ReviewService) -> Callable[[str, str], bool]:
    """Gradio's login check: True when the service accepts the password, False otherwise (never raises)."""

    def auth(username: str, password: str) -> bool:
        try:
            service.authenticate(username, password)
        except AuthError:
            return False
        return True

    return auth


def current_user(service: ReviewService, request: gr.Request | None) -> UserView:
    """The signed-in user; a gr.Error asking to sign in when there is none (or the account is gone)."""
    username = getattr(request, "username", None)
    if not username:
        raise gr.Error("You are not signed in: reload the page and sign in.")
    return service.user(username)


# ---------------------------------------------------------------- errors: translated once, here


def ui_errors(fn: F) -> F:
    """Runs a handler; when it fails, the user reads why once, as a warning, and the page stays as it was.

    A gr.Error or PrescreenError becomes a warning with its message, anything else a short one (logged on the
    server with its traceback). Nothing is raised into Gradio: a raised error would cover every output of the
    event with an error badge that blocks clicks until each is closed.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the edge: every failure becomes one message
            return warn(message_for(exc, fn.__name__))

    return wrapper  # type: ignore[return-value]


def message_for(exc: Exception, where: str = "a handler") -> str:
    """What the user is told about `exc`: our own messages as they are, never a traceback or an internal."""
    if isinstance(exc, gr.Error):
        return _sentence(str(exc.message))
    if isinstance(exc, PrescreenError):
        return _sentence(str(exc))
    log.exception("unexpected error in %s", where)
    return (f"Something went wrong ({type(exc).__name__}); it was logged on the server. "
            "Reload the page and try again.")


def warn(message: str) -> dict:
    """Show `message` (escaped: it may quote a file name) as one warning; change no output."""
    gr.Warning(esc(message), title="Not done")
    return gr.skip()


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] if message else "That did not work."


# ---------------------------------------------------------------- HTML from untrusted text


def esc(text: object) -> str:
    """html.escape, quotes included; None is the empty string."""
    return html.escape("" if text is None else str(text), quote=True)


def highlight(before: str, quote: str, after: str) -> str:
    """The cited passage in its page text: each part escaped first, then the quote wrapped in <mark>."""
    return f"{esc(before)}<mark>{esc(quote)}</mark>{esc(after)}"


def badge(status: str | None) -> str:
    """A status as a small coloured label (the status names are ours, still escaped)."""
    if not status:
        return '<span class="ps-badge ps-none">—</span>'
    return f'<span class="ps-badge ps-{esc(status)}">{esc(status.replace("_", " "))}</span>'


def bullet_list(items: Iterable[str], css: str = "") -> str:
    items = list(items)
    if not items:
        return ""
    rows = "".join(f"<li>{esc(item)}</li>" for item in items)
    return f'<ul class="{esc(css)}">{rows}</ul>'


def table(headers: list[str], rows: list[list[str]], css: str = "ps-table") -> str:
    """An HTML table. Cells are HTML: callers escape untrusted text (esc, badge) when they build them."""
    head = "".join(f"<th scope='col'>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{esc(css)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def notice(text: str, kind: str = "info") -> str:
    """One line of feedback under a form (escaped)."""
    return f'<p class="ps-notice ps-notice-{esc(kind)}" role="status">{esc(text)}</p>'


def pretty(value: str | None) -> str:
    return (value or "").replace("_", " ")
