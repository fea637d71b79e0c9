"""The earner's build form as plain functions (ui/earner_form.py): the live word count, upload names, parts typed or
uploaded, artifacts added and removed with their pointers, and a detail's entry rewritten from the picker."""

from __future__ import annotations

from prescreen.earner.assemble import ArtifactDraft, Draft, PartDraft
from prescreen.models import EvidenceRef, RubricPart, SelfAnalysisEntry
from prescreen.ui import earner_form as form

OVERVIEW = RubricPart(id="overview", title="Part 1", minimum_words=10)


def a_draft(**changes) -> Draft:
    fields = dict(credential="tiny-mentoring", parts={"overview": PartDraft(upload="overview.docx")},
                  artifacts=[ArtifactDraft(id="A1", title="Roster", upload="roster.pdf"),
                             ArtifactDraft(id="A2", title="Budget", upload="budget.pdf")],
                  self_analysis=[SelfAnalysisEntry(detail="EO1.1", explanation="It shows it.", evidence=[
                      EvidenceRef(artifact="A1", locator="p. 1"), EvidenceRef(artifact="A2", locator="p. 2")])])
    return Draft(**(fields | changes))


def test_the_word_count_reads_against_the_minimum():
    assert form.word_line("one two three", OVERVIEW) == "3 of 10 words: 7 to go."
    assert form.word_line("word " * 12, OVERVIEW) == "12 of 10 words: enough."
    assert form.word_line("", None) == "0 words."


def test_an_upload_gets_a_name_no_other_upload_of_the_draft_has():
    assert form.unique_name("/tmp/gradio/abc/roster.pdf", ["budget.pdf"]) == "roster.pdf"
    assert form.unique_name("roster.pdf", ["roster.pdf", "roster-2.pdf"]) == "roster-3.pdf"


def test_a_part_is_typed_or_uploaded_and_an_untouched_upload_stays():
    draft = a_draft()
    assert form.with_part(draft, "overview", "", None).parts["overview"] == PartDraft(upload="overview.docx")
    assert form.with_part(draft, "overview", "Typed now.", None).parts["overview"] == PartDraft(text="Typed now.")
    assert form.with_part(draft, "overview", "Typed.", "new.pdf").parts["overview"] == PartDraft(upload="new.pdf")
    assert form.with_part(draft, "reflection", "", None).parts["reflection"] == PartDraft(text="")


def test_artifacts_take_the_next_id_and_leave_with_their_pointers():
    draft, artifact_id = form.with_artifact(a_draft(), "  ", "slides.pdf")
    assert artifact_id == "A3" and draft.artifacts[-1] == ArtifactDraft(id="A3", title="slides", upload="slides.pdf")
    kept = form.without_artifact(draft, "A1")
    assert [a.id for a in kept.artifacts] == ["A2", "A3"]
    assert [r.artifact for r in kept.self_analysis[0].evidence] == ["A2"]


def test_the_picker_rewrites_the_pointers_to_one_artifact_and_keeps_the_others():
    draft = form.with_entry(a_draft(), "EO1.1", "A1", "p. 3, p. 4", "  Pages 3 and 4 show it.  ")
    entry = form.entry_of(draft, "EO1.1")
    assert [(r.artifact, r.locator) for r in entry.evidence] == [("A2", "p. 2"), ("A1", "p. 3, p. 4")]
    assert entry.explanation == "Pages 3 and 4 show it."
    assert form.pointer_to(entry, "A1") == "p. 3, p. 4"
    assert form.picked("p. 3, p. 4", ["p. 1", "p. 3", "p. 4"]) == ["p. 3", "p. 4"]
    cleared = form.entry_of(form.with_entry(draft, "EO1.1", "A1", " ", "x"), "EO1.1")
    assert [r.artifact for r in cleared.evidence] == ["A2"]
    added = form.with_entry(draft, "EO1.2", "A2", "p. 1", "The budget.")
    assert [e.detail for e in added.self_analysis] == ["EO1.1", "EO1.2"]


def test_the_identity_is_trimmed_and_empty_fields_are_left_out():
    earner = form.with_identity(a_draft(), " Jo Rivera ", "", "  ").earner
    assert (earner.name, earner.email, earner.organization) == ("Jo Rivera", None, None)
