"""Self-analysis locators, read the way a person reads them: parse and describe.

Earners type locators by hand (`p.3`, `pg. 3`, `pp. 3–4`, `pages 3 to 4`, `slide 4`, `para 12`, `¶ 12`,
`4:10-5:00`, `§ Monitoring`) and list them (`p. 3, p. 5`, `pp. 2, 4`). See the bundle spec, "Locators as
people write them".
"""

from __future__ import annotations

import re
from typing import Protocol

from prescreen.models import Locator

_DASHES = re.compile(r"[-‐‑‒–—―−]+|\bto\b|\bthrough\b|\bthru\b", re.I)  # no \s* around: linear time
_UNITS: list[tuple[str, re.Pattern[str]]] = [
    # the unit may run into its number (`p1`, `slide4`, `para12`), never into another word (`part 2`, `pizza`)
    ("page", re.compile(r"^(?:pages?|pgs?|pp?|slides?)(?![a-z])\.?\s*", re.I)),
    ("paragraph", re.compile(r"^(?:(?:paragraphs?|paras?|pars?)(?![a-z])\.?|¶+)\s*", re.I)),
]
_NUMBER = re.compile(r"^(\d{1,6})(?:-(\d{1,6}))?$")
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?"
_TIMES = re.compile(rf"^(?:at\s+)?({_TIME})(?:-({_TIME}))?$", re.I)
_SECTION = re.compile(r"^(?:§+|sections?\b|heading\b)\s*[:.]?\s*(.+)$", re.I)
_LIST = re.compile(r"[,;&]|\band\b", re.I)
_ASIDE = re.compile(r"\([^()]*\)")


def parse_locators(text: str) -> list[Locator]:
    """Every place a locator names, in order; ValueError when it names no place a reader could go."""
    if section := _SECTION.match(" ".join((text or "").split())):
        return [Locator(kind="section", section=section.group(1).strip(" .'\"“”"))]
    text = " ".join(_ASIDE.sub(" ", text or "").split()).strip(" .,;:")
    places: list[Locator] = []
    kind: str | None = None
    for item in (i for i in _LIST.split(text) if i.strip(" .")):
        place = _parse_item(_DASHES.sub("-", item.strip(" .")).replace(" -", "-").replace("- ", "-"), kind)
        if place is not None:
            places.append(place)
            kind = place.kind
    if not places:
        raise ValueError(
            f"{text!r} names no place: write a page (p. 3), slide (slide 4), paragraph (para. 4), "
            "section (§ Heading) or time (00:04:10)"
        )
    return places


def parse_locator(text: str) -> Locator:
    """The first place a locator names (see parse_locators)."""
    return parse_locators(text)[0]


def _parse_item(item: str, inherited: str | None) -> Locator | None:
    """One listed place: `pp. 3-4`, `slide 4`, `4:10-5:00`, or a bare `5` after a page or paragraph."""
    if times := _TIMES.match(item):
        return _ranged("time", seconds(times.group(1)), seconds(times.group(2) or times.group(1)))
    kind, rest = inherited, item
    for unit, pattern in _UNITS:
        if unit_match := pattern.match(item):
            kind, rest = unit, item[unit_match.end():]
            break
    number = _NUMBER.match(rest.replace(" ", ""))
    if kind is None or number is None:
        return None
    return _ranged(kind, int(number.group(1)), int(number.group(2) or number.group(1)))


def _ranged(kind: str, first: float, last: float) -> Locator:
    if last < first:
        raise ValueError(f"range {first:g}-{last:g} ends before it starts")
    return Locator(kind=kind, first=first, last=last)


class Place(Protocol):
    """Where a citation or a segment sits: whichever of page, paragraph and time it has."""

    @property
    def page(self) -> int | None: ...
    @property
    def paragraph(self) -> int | None: ...
    @property
    def start(self) -> float | None: ...
    @property
    def end(self) -> float | None: ...


def place_in(locator: Locator, place: Place, tolerance: float = 2.0) -> bool:
    """Whether a place (a citation, a segment) lies where a page, paragraph or time locator points; a cue
    that overlaps a time range is inside it."""
    first, last = locator.first or 0, locator.last or 0
    if locator.kind == "page":
        return place.page is not None and first <= place.page <= last
    if locator.kind == "paragraph":
        return place.paragraph is not None and first <= place.paragraph <= last
    start = place.start
    if locator.kind == "time" and start is not None:
        end = place.end if place.end is not None else start
        return start <= last + tolerance and end >= first - tolerance
    return False


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
