"""The self-check's words, from real screened bundles (the pipeline as it is, the fake embedder for the model):
each kind of note, what must be fixed and what is advice, and no score or outcome anywhere."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from prescreen.earner.selfcheck import PRECHECK, SelfCheck, self_check, to_text
from prescreen.pipeline import Screener, Screening
from prescreen.report import Citation, SelfAnalysisIssue
from prescreen.settings import Settings
from tests.earner_kit import EXPLAIN, OVERVIEW, tiny_bundle, write_rubric
from tests.factories import make_pdf, make_vtt

ROOT = Path(__file__).resolve().parents[1]
HARBOR = ROOT / "examples" / "harbor-middle"


@pytest.fixture(scope="module")
def screener(tmp_path_factory) -> Screener:
    from tests.fakes import StemHashEmbeddings

    folder = tmp_path_factory.mktemp("earner")
    settings = Settings(data_dir=folder / "data", rubrics_dir=write_rubric(folder / "rubrics"))
    return Screener(settings, embedder=StemHashEmbeddings())


@pytest.fixture(scope="module")
def harbor_screening(screener) -> Screening:
    return screener.screen(HARBOR)


@pytest.fixture(scope="module")
def harbor(harbor_screening) -> SelfCheck:
    return self_check(harbor_screening)


def judged(screening: Screening, detail: str, status: str, citations: list[Citation],
           issues: list[SelfAnalysisIssue] = ()) -> SelfCheck:
    """The self-check of `screening` with one detail's finding (and self-analysis issues) as given: the words for
    a judgment, whatever the evidence model calls this bundle's details today."""
    report = screening.report
    details = [f.model_copy(update={"status": status, "citations": citations}) if f.detail_id == detail else f
               for f in report.details]
    others = [i for i in report.self_analysis_issues if i.detail_id != detail]
    changed = report.model_copy(update={"details": details, "self_analysis_issues": [*others, *issues]})
    return self_check(dataclasses.replace(screening, report=changed))


def notes(check: SelfCheck, detail: str | None = None) -> list[tuple[str, bool, str]]:
    chosen = check.general if detail is None else next(d for d in check.details if d.detail_id == detail).notes
    return [(n.kind, n.must_fix, n.text) for n in chosen]


def test_parts_and_files_in_the_earners_words(harbor):
    general = notes(harbor)
    assert ("word_shortfall", True, "The overview is 145 words short. It has 855 of the 1000 words it needs: add to it "
            "before you submit.") in general
    assert ("file_problem", True,
            "scanned-signin.pdf has no text. Upload a text PDF or a photo-free export.") in general
    unsupported = next(t for k, _, t in general if t.startswith("family-night.mp4"))
    assert "cannot read" in unsupported and "upload a transcript (.vtt or .srt)" in unsupported
    instruction = next(t for k, _, t in general if t.startswith("equity-plan.docx, para."))
    assert "addressed to an AI or an assessor" in instruction and "Remove it" in instruction
    assert all(must for _, must, _ in general)


def test_broken_pointers_and_entries_must_be_fixed(harbor):
    assert notes(harbor, "EO1.2")[0] == (
        "pointer_out_of_range", True, "Your pointer p. 14: this file has 5 pages. Point to a place that exists "
        "(pages 1 to 5 of data-dive.pdf): pick it in the file's list of places.")
    assert notes(harbor, "EO2.2")[0] == (
        "pointer_unclear", True, "Your pointer 'around the middle' to A2 names no place prescreen can follow. Write a "
        "paragraph (para. 4) or a heading (§ Heading), or pick the place in the file.")
    assert notes(harbor, "EO2.3")[0][:2] == ("no_entry", True)
    assert notes(harbor, "EO2.3")[0][2].startswith("There is no self-analysis entry for EO2.3.")
    assert notes(harbor, "EO3.3")[0] == (
        "unknown_artifact", True, "Your pointer to A9 names no artifact of this submission. Upload it as an artifact, "
        "or point to one of yours (A1, A2, A3, A4, A5).")
    assert notes(harbor, "EO4.2")[0] == (
        "no_explanation", True, "Your explanation for EO4.2 is missing. Say in a sentence or two how this evidence "
        "shows the detail.")


def test_judgments_of_the_evidence_are_advice(harbor_screening):
    in_overview = Citation(artifact_id="overview", paragraph=2, quote="Equity means", verified=True)
    check = judged(harbor_screening, "EO1.1", "weak", [in_overview])
    assert ("narrative_only", False, "EO1.1 is only described in your narrative. Point to an artifact that shows it.") \
        in notes(check, "EO1.1")
    eo11 = next(d for d in check.details if d.detail_id == "EO1.1")
    assert eo11.found and all(f.in_part and f.title == "your overview" for f in eo11.found)
    elsewhere = SelfAnalysisIssue(detail_id="EO4.1", kind="evidence_not_at_locator", artifact_id="A2",
                                  locator="§ Looking Ahead", message="no evidence for EO4.1 at § Looking Ahead")
    check = judged(harbor_screening, "EO4.1", "missing", [], [elsewhere])
    assert ("not_at_pointer", False, "At § Looking Ahead in A2, prescreen found nothing about EO4.1. Check that the "
            "pointer goes to the place that shows it.") in notes(check, "EO4.1")
    in_artifact = Citation(artifact_id="A2", paragraph=10, quote="belonging", verified=True)
    check = judged(harbor_screening, "EO2.3", "weak", [in_artifact])
    assert any(kind == "thin_evidence" and not must for kind, must, _ in notes(check, "EO2.3"))
    assert not any(must for _, must, text in notes(check, "EO2.3") if "evidence found" in text)


def test_a_pre_check_gives_no_score_and_no_outcome(harbor):
    text = to_text(harbor)
    assert text.startswith("PRE-CHECK, NOT AN ASSESSMENT\n" + PRECHECK)
    assert f"{len(harbor.must_fix)} to fix before you submit, {len(harbor.advice)} suggestions." in text
    ours = "\n".join(line for line in text.split("\n")[2:] if not line.startswith("  found in"))  # not quotes
    for word in ("ready", "confidence", "evidenced", "score", "%", "pass", "will earn", "likely"):
        assert word not in ours.lower()
    assert "found in A2 (Equity work 2025-26, belonging and access), para. 10:" in text


def test_a_sound_submission_has_nothing_to_fix(screener, tmp_path):
    check = self_check(screener.screen(tiny_bundle(tmp_path / "sound")))
    assert check.must_fix == []
    eo11, eo12 = check.details
    assert eo11.notes == [] and [f.where for f in eo11.found] == ["p. 1"] * len(eo11.found)
    assert ("not_found", False, "Nothing in your submission was found for EO1.2. Add an artifact that shows it, and "
            "point to the place in it.") in notes(check, "EO1.2")


def test_short_parts_empty_entries_and_placeholder_explanations(screener, tmp_path):
    entries = [{"detail": "EO1.1", "evidence": [], "explanation": EXPLAIN},
               {"detail": "EO1.2", "evidence": [{"artifact": "A1", "locator": "p. 1"}], "explanation": "TBD"},
               {"detail": "EO7.7", "evidence": [{"artifact": "A1", "locator": "p. 1"}], "explanation": EXPLAIN}]
    check = self_check(screener.screen(tiny_bundle(tmp_path / "gaps", overview=OVERVIEW[:150], entries=entries)))
    assert ("word_shortfall", True, "The overview is 13 words short. It has 27 of the 40 words it needs: add to it "
            "before you submit.") in notes(check)
    assert ("manifest", True, "Submission.yaml, self_analysis[2].detail: 'EO7.7' is not a detail of tiny-mentoring. "
            "Correct the entry (or rebuild the submission in the browser).") in notes(check)
    assert notes(check, "EO1.1")[0] == ("no_entry", True, "Your entry for EO1.1 points to no artifact. Pick the "
                                        "artifact and the place in it that shows this detail.")
    assert notes(check, "EO1.2")[0] == ("no_explanation", True, "Your explanation for EO1.2 says nothing. Say in a "
                                        "sentence or two how this evidence shows the detail.")


def test_unreadable_files_scanned_pages_and_transcript_times(screener, tmp_path):
    folder = tmp_path / "made"
    locked = make_pdf(folder / "locked.pdf", ["Bus budget by route."], password="secret")
    scanned = make_pdf(folder / "minutes.pdf", ["Mentor meeting minutes.", "Signed by every mentor."], image_pages=[1])
    night = make_vtt(folder / "night.vtt", [(0, 30, "Every student has a mentor who meets them weekly.")])
    artifacts = {"artifacts/locked.pdf": locked.read_bytes(), "artifacts/minutes.pdf": scanned.read_bytes(),
                 "artifacts/night.vtt": night.read_bytes()}
    entries = [{"detail": "EO1.1", "evidence": [{"artifact": "A4", "locator": "00:09:00"}], "explanation": EXPLAIN},
               {"detail": "EO1.2", "evidence": [{"artifact": "A1", "locator": "see the binder"}],
                "explanation": EXPLAIN}]
    check = self_check(screener.screen(tiny_bundle(tmp_path / "files", entries=entries, artifacts=artifacts)))
    general = notes(check)
    assert ("file_problem", True, "locked.pdf cannot be read. The PDF is encrypted: remove the password and upload it "
            "again.") in general
    assert ("file_problem", True, "minutes.pdf, p. 2, has no text. Run OCR on the scanned page.") in general
    assert notes(check, "EO1.1")[0] == (
        "pointer_out_of_range", True, "Your pointer 00:09:00: this file ends at 00:00:30. Point to a place that exists "
        "(night.vtt runs to 00:00:30): pick it in the file's list of places.")
    assert notes(check, "EO1.2")[0] == (
        "pointer_unclear", True,
        "Your pointer 'see the binder' to A1 names no place prescreen can follow. Write a page "
        "(p. 3) or pages (pp. 3-4), or pick the place in the file.")


def test_a_bundle_that_cannot_be_screened_is_one_thing_to_fix(screener, tmp_path):
    (tmp_path / "empty").mkdir()
    check = self_check(screener.screen(tmp_path / "empty"))
    assert [(n.kind, n.must_fix) for n in check.must_fix] == [("manifest", True)]
    assert "no submission.yaml" in check.must_fix[0].says and check.details == []


def test_a_missing_part_is_said_once(screener, tmp_path):
    bundle = tiny_bundle(tmp_path / "no-reflection")
    text = (bundle / "submission.yaml").read_text().replace("  reflection: reflection.md\n", "")
    (bundle / "submission.yaml").write_text(text)
    check = self_check(screener.screen(bundle))
    said = [t for _, _, t in notes(check) if "reflection" in t]
    assert said == ["The reflection is missing. Write it, or upload it as a file: at least 20 words."]
