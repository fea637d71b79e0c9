"""Self-analysis locators ("p. 2", "pp. 2-3", "para. 4", "§ Monitoring", "00:04:10-00:05:00"): parse and describe."""

from __future__ import annotations

import re

from prescreen.models import Locator

_DASH = r"\s*(?:-|–|—|to)\s*"
_NUM = r"(\d+)"
_TIME = r"(\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("page", re.compile(rf"^(?:pp?\.?|pages?)\s*{_NUM}(?:{_DASH}{_NUM})?$", re.I)),
    ("paragraph", re.compile(rf"^(?:paras?\.?|paragraphs?|¶)\s*{_NUM}(?:{_DASH}{_NUM})?$", re.I)),
    ("time", re.compile(rf"^(?:at\s+)?{_TIME}(?:{_DASH}{_TIME})?$", re.I)),
]
_SECTION = re.compile(r"^(?:§|section)\s*(.+)$", re.I)


def parse_locator(text: str) -> Locator:
    """Parse a locator as the earner wrote it; ValueError when it says nowhere a reader could go."""
    text = " ".join(text.split()).strip(" .,;")
    if section := _SECTION.match(text):
        return Locator(kind="section", section=section.group(1).strip())
    for kind, pattern in _PATTERNS:
        if match := pattern.match(text):
            first, last = match.group(1), match.group(2) or match.group(1)
            convert = seconds if kind == "time" else int
            low, high = convert(first), convert(last)
            if high < low:
                raise ValueError(f"range {text!r} ends before it starts")
            return Locator(kind=kind, first=low, last=high)
    raise ValueError(f"{text!r} is not a page (p. 3), paragraph (para. 4), section (§ Heading) or time (00:04:10)")


def seconds(stamp: str) -> float:
    """'01:02:03.5' -> 3723.5; '04:10' -> 250."""
    parts = [float(p.replace(",", ".")) for p in stamp.split(":")]
    total = 0.0
    for part in parts:
        total = total * 60 + part
    return total


def timestamp(value: float) -> str:
    whole = int(value)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def describe(
    page: int | None = None,
    paragraph_start: int | None = None,
    paragraph_end: int | None = None,
    start: float | None = None,
    end: float | None = None,
) -> str:
    """The reader's way to say where something is."""
    if page is not None:
        return f"p. {page}"
    if paragraph_start is not None:
        if paragraph_end is not None and paragraph_end != paragraph_start:
            return f"paras. {paragraph_start}-{paragraph_end}"
        return f"para. {paragraph_start}"
    if start is not None:
        return f"{timestamp(start)}-{timestamp(end if end is not None else start)}"
    return "whole file"
