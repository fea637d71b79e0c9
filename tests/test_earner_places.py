"""The picker's places: every place offered, written as a locator in a self-analysis, is followed by the
pipeline's own self-analysis checks without a locator issue, for PDF, Word, Markdown and WebVTT files."""

from __future__ import annotations

from pathlib import Path

import pytest

from prescreen.checks import PlaceVerdict, SelfAnalysisChecker
from prescreen.earner.places import NO_TEXT, places_of, read_places
from prescreen.errors import ExtractionError
from prescreen.extract import extract_source
from prescreen.models import ArtifactRef, Detail, EvidenceRef, Manifest, Outcome, Rubric, RubricPart, SelfAnalysisEntry
from prescreen.settings import LimitSettings
from tests.factories import make_docx, make_image_pdf, make_pdf, make_vtt

LIMITS = LimitSettings()
RUBRIC = Rubric(id="t", title="T", version="1", parts=[RubricPart(id="overview", title="Overview")],
                outcomes=[Outcome(id="EO1", title="One", details=[Detail(id="EO1.1", text="Shows it.")])])
MARKDOWN = """# Equity audit

We examined attendance by subgroup
with all staff on September 10.

## Monitoring

| month | absences |
|---|---|
| Sept | 12 |

- every student has an adult mentor
- crews meet weekly
"""


def make_files(folder: Path) -> dict[str, Path]:
    return {
        "pdf": make_pdf(folder / "audit.pdf", ["Equity audit\nAttendance by subgroup.", "", "Plan for next year."]),
        "docx": make_docx(folder / "plan.docx", [("title", "Equity plan"), ("p", "We meet monthly."),
                                                 ("table", "goal|owner\nattendance|AP"),
                                                 ("h1", "Monitoring Our Progress"),
                                                 ("p", "Absences reviewed each month.")]),
        "md": (folder / "audit.md").write_text(MARKDOWN, encoding="utf-8") and folder / "audit.md",
        "vtt": make_vtt(folder / "night.vtt", [(0, 4.5, "Welcome, families."), (65, 130, "Interpreters in Spanish."),
                                               (3599.2, 3605, "Thank you all.")]),
    }


def follow(source, locators: list[str]):
    """The self-analysis checker's issues for one entry pointing at `locators`, and the places it followed."""
    followed = []

    def relevant(detail, src, places, ref) -> PlaceVerdict:
        followed.append([(p.kind, p.first, p.last) for p in places])
        return PlaceVerdict(relevant=True)

    manifest = Manifest(submission_id="S", credential="t", artifacts=[ArtifactRef(id="A1", file=source.file)],
                        self_analysis=[SelfAnalysisEntry(
                            detail="EO1.1", explanation="This shows the detail in action.",
                            evidence=[EvidenceRef(artifact="A1", locator=loc) for loc in locators])])
    return SelfAnalysisChecker(manifest, {"A1": source}, relevant).check(RUBRIC), followed


@pytest.mark.parametrize("kind", ["pdf", "docx", "md", "vtt"])
def test_every_place_is_a_locator_the_checks_follow(tmp_path, kind):
    path = make_files(tmp_path)[kind]
    source = extract_source(tmp_path, path.name, source_id="A1", title="", role="artifact", limits=LIMITS)
    places = places_of(source)
    assert places
    issues, followed = follow(source, [p.locator for p in places])
    assert issues == []
    assert len(followed) == len(places)  # each pointer reached an exact place of the file


def test_pdf_places_are_pages_with_their_first_line(tmp_path):
    found = read_places(tmp_path, make_files(tmp_path)["pdf"].name, "A1", LIMITS)
    assert found.kind == "pdf"
    assert [(p.locator, p.label) for p in found.places] == [
        ("p. 1", "Equity audit"), ("p. 2", NO_TEXT), ("p. 3", "Plan for next year.")]


def test_word_places_number_paragraphs_as_the_spec_does(tmp_path):
    """Headings count as paragraphs; the table belongs to the paragraph before it; a heading is a place of its own."""
    found = read_places(tmp_path, make_files(tmp_path)["docx"].name, "A2", LIMITS)
    assert [p.locator for p in found.places] == [
        "§ Equity plan", "para. 1", "para. 2", "§ Monitoring Our Progress", "para. 3", "para. 4"]
    assert found.places[2].label == "We meet monthly."


def test_markdown_places(tmp_path):
    found = read_places(tmp_path, make_files(tmp_path)["md"].name, "A3", LIMITS)
    assert [p.locator for p in found.places] == [
        "§ Equity audit", "para. 1", "para. 2", "§ Monitoring", "para. 3", "para. 4", "para. 5"]
    assert found.places[2].label == "We examined attendance by subgroup"


def test_transcript_places_are_cues_with_times(tmp_path):
    found = read_places(tmp_path, make_files(tmp_path)["vtt"].name, "A4", LIMITS)
    assert [(p.kind, p.locator, p.label) for p in found.places] == [
        ("time", "00:00:00-00:00:04", "Welcome, families."),
        ("time", "00:01:05-00:02:10", "Interpreters in Spanish."),
        ("time", "00:59:59-01:00:05", "Thank you all."),
    ]


def test_a_place_past_the_end_is_what_the_checks_flag(tmp_path):
    """The check above can fail: a pointer one page past the last offered is out of range."""
    path = make_files(tmp_path)["pdf"]
    source = extract_source(tmp_path, path.name, source_id="A1", title="", role="artifact", limits=LIMITS)
    issues, _ = follow(source, ["p. 4"])
    assert [i.kind for i in issues] == ["locator_out_of_range"]


def test_an_unreadable_file_has_no_places_but_a_reason(tmp_path):
    make_image_pdf(tmp_path / "scan.pdf", 2)
    with pytest.raises(ExtractionError) as caught:
        read_places(tmp_path, "scan.pdf", "A1", LIMITS)
    assert caught.value.kind == "no_text" and "OCR" in str(caught.value)
