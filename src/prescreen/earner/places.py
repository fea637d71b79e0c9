"""The places a person can point to in a file, as prescreen reads it, each with the locator the spec accepts.

A picker shows these and writes the chosen place's `locator` into the self-analysis, so an earner never types
one: PDF pages (with their first line), paragraphs numbered exactly as the checks number them
(extract.number_paragraphs), section headings, and transcript cues with their times. Every place offered is
followed by the same functions the self-analysis checks use (locators.parse_locators, checks.out_of_range), so
a place that the checks would call out of range is never offered.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from prescreen.bundle import DEFAULT_FIELD_CAP
from prescreen.checks import out_of_range
from prescreen.locators import describe, parse_locators
from prescreen.models import Source, SourceKind
from prescreen.sandbox import extract_in_worker
from prescreen.settings import LimitSettings

PlaceKind = Literal["page", "paragraph", "section", "time"]
LABEL_CHARS = 120
NO_TEXT = "(no text on this page)"


class Place(BaseModel):
    """One place in a file a self-analysis entry can point to."""

    kind: PlaceKind
    locator: str = Field(description="What choosing the place writes into the self-analysis: `p. 3`, `para. 12`, "
                                     "`§ Monitoring`, `00:04:10-00:05:00`.")
    label: str = Field(description="What the picker shows: a page's first line, a paragraph's start, a heading, "
                                   "a cue's words.")


class FilePlaces(BaseModel):
    """A file's places, in reading order."""

    artifact: str = Field(description="The artifact (or part) id the places belong to.")
    file: str = Field(description="Path of the file in the bundle.")
    kind: SourceKind
    places: list[Place]


def places_of(source: Source) -> list[Place]:
    """The places of an extracted file that a pointer can name, each checked as the self-analysis checks follow it."""
    found = (_pages(source) if source.kind == "pdf"
             else _cues(source) if source.kind == "transcript"
             else _paragraphs(source))
    return [place for place in found if _followable(source, place.locator)]


def read_places(root: Path, relpath: str, artifact_id: str, limits: LimitSettings) -> FilePlaces:
    """Read one file of a bundle the way the screen reads it (in a worker, within the limits) and list its places.

    ExtractionError, with the report's problem kind and a message saying how to fix it, when it cannot be read."""
    source = extract_in_worker(root, relpath, source_id=artifact_id, title="", role="artifact", limits=limits)
    return FilePlaces(artifact=artifact_id, file=relpath, kind=source.kind, places=places_of(source))


def _pages(source: Source) -> Iterator[Place]:
    for segment in source.segments:
        if segment.page is not None:
            yield Place(kind="page", locator=describe(page=segment.page), label=_first_line(segment.text) or NO_TEXT)


def _cues(source: Source) -> Iterator[Place]:
    for segment in source.segments:
        if segment.start is not None:
            yield Place(kind="time", locator=describe(start=segment.start, end=segment.end),
                        label=_first_line(segment.text))


def _paragraphs(source: Source) -> Iterator[Place]:
    """Every numbered paragraph; before the first paragraph of a section, the section's heading."""
    seen: set[str] = set()
    for segment in source.segments:
        if segment.paragraph is None:
            continue
        if segment.section and segment.section not in seen:
            seen.add(segment.section)
            yield Place(kind="section", locator=f"§ {segment.section}", label=_first_line(segment.section))
        yield Place(kind="paragraph", locator=describe(paragraph_start=segment.paragraph),
                    label=_first_line(segment.text))


def _followable(source: Source, locator: str) -> bool:
    """Whether the checks read the locator as places inside this file (and it fits the manifest's field)."""
    if len(locator) > DEFAULT_FIELD_CAP:
        return False
    try:
        places = parse_locators(locator)
    except ValueError:
        return False
    return all(out_of_range(source, place) is None for place in places)


def _first_line(text: str) -> str:
    line = next((line.strip() for line in text.split("\n") if line.strip()), "")
    line = " ".join(line.split())
    return line if len(line) <= LABEL_CHARS else line[: LABEL_CHARS - 1] + "…"
