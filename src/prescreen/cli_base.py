"""What every command shares: one-line failures (exit 2), usable settings, the review service, progress.

The command modules (cli.py, cli_lead.py, cli_earner.py) import from here, never from each other, so any of
them can be imported first (and `python -m prescreen.cli` runs).
"""

from __future__ import annotations

import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console

from prescreen.settings import Settings

EXIT_UNUSABLE = 2


def fail(message: str) -> None:
    click.echo(f"prescreen: {message}", err=True)
    sys.exit(EXIT_UNUSABLE)


def usable_settings() -> Settings:
    """The settings, once the data directory is known to be usable; else one line saying how to fix it."""
    settings = Settings()
    if problem := data_dir_problem(settings.data_dir):
        fail(problem)
    return settings


def data_dir_problem(path: Path) -> str | None:
    """Why prescreen cannot keep its data in `path` (not a folder, not writable), or None when it can."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        return (f"the data directory {path} cannot be used ({exc.strerror or exc}): make it a folder you can "
                "write to, or set PRESCREEN_DATA_DIR to one")
    return None


def make_drafter(settings: Settings, choice: str = "auto"):
    """The drafter `--drafter` names: `extractive`, `llm` (an OpenAI-compatible server; a configuration error
    when none is set), or `auto` (the LLM when one is configured, else extractive)."""
    from prescreen.llm import make_drafter as build

    return build(settings, choice)


@contextmanager
def progress_on_stderr(quiet: bool):
    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        yield lambda step: None
        return
    with console.status("screening") as status:
        yield lambda step: status.update(f"{step}…")


def review_service():
    """The review service over the configured database, migrated to the latest schema."""
    from sqlalchemy.exc import OperationalError

    from prescreen.review.workflow import ReviewService

    try:
        return ReviewService.from_settings(usable_settings())
    except OperationalError as exc:
        fail(f"cannot open the review database: {exc.orig} (check DATABASE_URL / PRESCREEN_DATABASE_URL)")


def only_lead(service) -> str:
    leads = service.leads()
    if len(leads) != 1:
        fail(f"{'no lead exists' if not leads else 'there are several leads'}: pass --as LEAD "
             "(create one with `prescreen users add NAME --role lead`)")
    return leads[0].username
