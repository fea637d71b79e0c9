"""The composition root: what the review service is built from outside the domain (the database from settings,
the screening pipeline). The service itself only takes a `screen` callable, so tests pass a fake."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prescreen.pipeline import Progress, Screener, Screening
    from prescreen.settings import Settings


class LazyScreener:
    """A screen callable that builds the Screener (embedder, index, drafter) on its first call: the review
    service's default with `drafter="auto"`; `"extractive"` never calls an LLM (an earner's self-check)."""

    def __init__(self, settings: Settings, drafter: str = "auto"):
        self.settings, self.drafter = settings, drafter
        self._screener: Screener | None = None
        self._lock = threading.Lock()

    def __call__(self, path: Path, progress: Progress | None = None) -> Screening:
        """The screening of `path`; `progress` is told each step of the pipeline by name."""
        with self._lock:
            if self._screener is None:
                from prescreen.llm import make_drafter
                from prescreen.pipeline import Screener

                self._screener = Screener(self.settings, drafter=make_drafter(self.settings, self.drafter))
        return self._screener.screen(path, progress) if progress else self._screener.screen(path)


def migrated_sessions(settings: Settings):
    """Sessions on the configured database (SQLite in the data dir by default), migrated to the latest schema."""
    from prescreen.review.db import database_url, make_engine, session_factory, upgrade

    engine = make_engine(database_url(settings))
    upgrade(engine)
    return session_factory(engine)
