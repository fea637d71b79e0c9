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
    words = (w.lower().strip("'-") for w in _WORD.findall(text))
    return [_stem(w) for w in words if w and w not in _STOP]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, trimmed; table rows and list items count as sentences."""
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
