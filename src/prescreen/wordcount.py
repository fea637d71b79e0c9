"""Word counts by the bundle spec's rule, never by a model."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\S+")


def count_words(text: str) -> int:
    """A word is a maximal run of non-space characters holding at least one letter or digit.

    Markdown markup that is only markup (`#`, `*`, `-`, `|`) holds none, so it is not counted.
    """
    return sum(1 for token in _TOKEN.findall(text) if any(ch.isalnum() for ch in token))
