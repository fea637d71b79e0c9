"""`evidence_not_at_locator` as the pipeline judges it: a pointed place holds nothing relevant when its best sentence
scores very low, or low while the same file holds strong evidence for the detail elsewhere (the earner's slide or
paragraph count is off). The sentence model is a stub keyed on words, so each case's scores are known."""

from __future__ import annotations

from pathlib import Path

import pytest

from prescreen.evidence_model import EvidenceModel, SentenceInput
from prescreen.models import Detail
from prescreen.pipeline import EVIDENCE_ELSEWHERE_AT, PLACE_MISSED_UNDER, PLACE_RELEVANT_AT, Screener
from prescreen.settings import Settings
from tests.earner_kit import EXPLAIN, tiny_bundle, write_rubric
from tests.factories import make_pdf
from tests.fakes import StemHashEmbeddings

STRONG = "Every student is assigned an adult mentor who meets them weekly; mentors logged 412 check-ins."
RELATED = "Students filled in a short form about their favourite clubs."
NOTHING = "The cafeteria serves soup on Mondays and pasta on Fridays."
SCORES = {"mentor": 0.95, "clubs": (PLACE_RELEVANT_AT + PLACE_MISSED_UNDER) / 2, "cafeteria": PLACE_RELEVANT_AT / 2}


class KeywordModel(EvidenceModel):
    """Scores a sentence by the first keyword of SCORES it holds (0 when none)."""

    def score_sentences(self, detail: Detail, inputs: list[SentenceInput]) -> list[float]:
        return [next((v for k, v in SCORES.items() if k in s.text.lower()), 0.0) for s in inputs]


@pytest.fixture(scope="module")
def screener(tmp_path_factory) -> Screener:
    folder = tmp_path_factory.mktemp("relevance")
    settings = Settings(data_dir=folder / "data", rubrics_dir=write_rubric(folder / "rubrics"))
    model = KeywordModel(**EvidenceModel.untrained().model_dump())
    return Screener(settings, embedder=StemHashEmbeddings(), evidence_model=model)


def flag(screener: Screener, root: Path, pages: list[str], locator: str) -> str | None:
    """The message of EO1.1's evidence_not_at_locator issue, or None when the place is not flagged."""
    pdf = make_pdf(root.parent / f"{root.name}.pdf", pages)
    entries = [{"detail": "EO1.1", "evidence": [{"artifact": "A1", "locator": locator}], "explanation": EXPLAIN}]
    bundle = tiny_bundle(root, entries=entries, artifacts={"artifacts/roster.pdf": pdf.read_bytes()})
    issues = screener.screen(bundle).report.self_analysis_issues
    return next((i.message for i in issues if i.detail_id == "EO1.1" and i.kind == "evidence_not_at_locator"), None)


@pytest.mark.parametrize(
    ("pages", "locator", "flagged"),
    [
        ([NOTHING, STRONG], "p. 2", False),  # the place holds the evidence
        ([NOTHING, STRONG], "p. 1", True),  # nothing relevant there at all
        ([RELATED, STRONG], "p. 1", True),  # loosely related, while the evidence is one page on: a miscount
        ([RELATED, NOTHING], "p. 1", False),  # loosely related, and the file holds nothing better: not clear enough
    ],
    ids=["at-the-evidence", "nothing-there", "off-by-one", "loosely-related"],
)
def test_a_pointed_place_is_flagged_only_when_it_clearly_misses(screener, tmp_path, pages, locator, flagged):
    assert SCORES["mentor"] >= EVIDENCE_ELSEWHERE_AT
    assert (flag(screener, tmp_path / "bundle", pages, locator) is not None) is flagged


def test_the_flag_says_where_the_file_seems_to_hold_the_evidence(screener, tmp_path):
    """In the message and in `evidence_at`, which the earner's self-check turns into its advice."""
    from prescreen.earner.selfcheck import self_check

    def issue(root: Path, pages: list[str]):
        pdf = make_pdf(root.parent / f"{root.name}.pdf", pages)
        entries = [{"detail": "EO1.1", "evidence": [{"artifact": "A1", "locator": "p. 1"}], "explanation": EXPLAIN}]
        screening = screener.screen(tiny_bundle(root, entries=entries,
                                                artifacts={"artifacts/roster.pdf": pdf.read_bytes()}))
        found = next(i for i in screening.report.self_analysis_issues if i.kind == "evidence_not_at_locator")
        return found, next(d for d in self_check(screening).details if d.detail_id == "EO1.1").notes

    found, notes = issue(tmp_path / "bundle", [RELATED, NOTHING, STRONG])
    assert found.message == "EO1.1: A1 at p. 1 does not appear to hold evidence for this detail; A1 at p. 3 seems to"
    assert found.evidence_at == "p. 3"
    assert any(n.fix == "It seems to be at p. 3 in A1: check, and point there if so." for n in notes)
    found, notes = issue(tmp_path / "other", [NOTHING, RELATED])
    assert found.message == "EO1.1: A1 at p. 1 does not appear to hold evidence for this detail"
    assert found.evidence_at is None
    assert any(n.fix == "Check that the pointer goes to the place that shows it." for n in notes)
