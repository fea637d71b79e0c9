"""Canonical folding: the form of a text that checks read, so look-alike and hidden characters hide nothing.

`fold` gives NFKC text with confusable letters folded to the ASCII letters they imitate (Unicode's confusables
data, through `confusable_homoglyphs`), accents and other combining marks dropped, zero-width, bidi and other
format controls removed, words hyphenated at a line end joined, and all white space (line breaks included)
collapsed to single spaces. Checks run on this form; citations are always taken from the original text.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from functools import lru_cache

from confusable_homoglyphs import confusables

_LINE_END_HYPHEN = re.compile(r"(?<=\w)[-\u00ad\u2010\u2011]\s*\n\s*(?=\w)")
_SPACE = re.compile(r"\s+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
MAX_BASE64_RUNS = 32  # per text: enough for any real portfolio, bounded for a hostile one


def _ascii_look_alike(homoglyphs: list[dict[str, str]]) -> str | None:
    """The ASCII letter (else digit) a character imitates, or None."""
    singles = [h["c"] for h in homoglyphs if len(h["c"]) == 1 and h["c"].isascii() and h["c"].isalnum()]
    letters = [c for c in singles if c.isalpha()]
    return next(iter(letters or singles), None)


@lru_cache(maxsize=1)
def _confusable_table() -> dict[int, str]:
    """Non-ASCII character -> the ASCII letter or digit it looks like."""
    table = {}
    for char, homoglyphs in confusables.confusables_data.items():
        if len(char) == 1 and not char.isascii() and (target := _ascii_look_alike(homoglyphs)):
            table[ord(char)] = target
    return table


def _drop(char: str) -> bool:
    """Combining marks (accents, stacked diacritics) and format controls (zero-width, bidi, soft hyphen)."""
    return unicodedata.category(char) in ("Mn", "Me", "Cf")


def fold(text: str) -> str:
    """The canonical form of `text` (see the module's docstring); linear in the text's length."""
    text = _LINE_END_HYPHEN.sub("", text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_confusable_table())
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not _drop(c))
    return _SPACE.sub(" ", text).strip()


def decoded_base64(text: str) -> list[str]:
    """The texts hidden as base64 in `text` (runs of 16+ base64 characters that decode to readable UTF-8)."""
    found = []
    for match in list(_BASE64.finditer(text))[:MAX_BASE64_RUNS]:
        run = match.group().rstrip("=")
        run = run[: len(run) // 4 * 4] if len(run) % 4 == 1 else run  # one stray character is never base64
        try:
            decoded = base64.b64decode(run + "=" * (-len(run) % 4), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
            continue
        if all(c.isprintable() or c.isspace() for c in decoded):
            found.append(decoded)
    return found
