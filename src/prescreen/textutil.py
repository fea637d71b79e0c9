"""Small text helpers shared by retrieval, checks and drafting: stems and sentences."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+(?:[.,]\d+)?%?")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)")
_ABBREVIATION = re.compile(
    r"\b(?:Mr|Mrs|Ms|Dr|Prof|St|No|vs|etc|e\.g|i\.e|pp?|para|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.$", re.I
)
_STOP = frozenset(STOPWORDS_EN)
STEMMER = Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return STEMMER.stemWord(word)


def stems(text: str) -> list[str]:
    """Content-word stems, in order: 'Families attended' -> ['famili', 'attend']."""
    return list(_stems(text))


@lru_cache(maxsize=32768)
def _stems(text: str) -> tuple[str, ...]:
    """Cached: drafting reads each candidate sentence once for every detail it is a candidate of."""
    words = (w.lower().strip("'-") for w in _WORD.findall(text))
    return tuple(_stem(w) for w in words if w and w not in _STOP)


def sentence_spans(text: str, layout: bool = False) -> list[tuple[int, int]]:
    """(start, end) of each sentence, trimmed; table rows and list items count as sentences.

    A table row (cells joined with ` | `) is never joined to the line before or after it. With `layout`
    (text laid out in lines, as a PDF page is), a line that ends well short of the page's full lines ends
    its unit too: a title, a paragraph's last line, a table cell. So no sentence splices a header row with
    a data row.
    """
    spans = []
    for a, b in _units(text, layout):
        spans += [(a + x, a + y) for x, y in _sentences(text[a:b])]
    return spans


def _units(text: str, layout: bool) -> list[tuple[int, int]]:
    """Stretches of text that no sentence may cross: split at rows of a table and, with layout, short lines."""
    lines, offset = [], 0
    for line in text.split("\n"):
        lines.append((offset, offset + len(line)))
        offset += len(line) + 1
    full = max((b - a for a, b in lines), default=0)
    units, start = [], 0
    for i, (a, b) in enumerate(lines[:-1]):
        line, after = text[a:b], text[lines[i + 1][0]:lines[i + 1][1]]
        if " | " in line or " | " in after or (layout and b - a < SHORT_LINE * full):
            units.append((start, b))
            start = lines[i + 1][0]
    return units + [(start, len(text))]


SHORT_LINE = 0.7  # of the page's longest line: a line this short is not wrapped prose


def _sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if _ABBREVIATION.search(text, max(0, match.start() - 8), match.start()) and "\n" not in match.group():
            continue
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [_trim(text, a, b) for a, b in spans if text[a:b].strip()]


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b
