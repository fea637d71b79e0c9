"""The accuracy scorer (benchmarks/eval_labelled.py): places, splices and the metrics, on hand-made cases."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from eval_labelled import Tally, at_place, load_splits, spliced, split_of, summary  # noqa: E402

from prescreen.models import Segment, Source  # noqa: E402
from prescreen.pipeline import Screening  # noqa: E402
from prescreen.report import Citation, Report  # noqa: E402


@pytest.mark.parametrize(("citation", "place", "hit"), [
    (Citation(artifact_id="A1", page=3, quote="q"), {"source": "A1", "locator": "pp. 2-4"}, True),
    (Citation(artifact_id="A1", page=5, quote="q"), {"source": "A1", "locator": "p. 3, p. 5"}, True),
    (Citation(artifact_id="A1", page=5, quote="q"), {"source": "A2", "locator": "p. 5"}, False),
    (Citation(artifact_id="A3", paragraph=7, quote="q"), {"source": "A3", "locator": "para 7"}, True),
    (Citation(artifact_id="A4", start=250, end=262, quote="q"), {"source": "A4", "locator": "00:04:00-00:04:15"}, True),
    (
        Citation(artifact_id="A4", start=400, end=410, quote="q"),
        {"source": "A4", "locator": "00:04:00-00:04:15"},
        False,
    ),
    (Citation(artifact_id="A1", page=1, quote="q"), {"source": "A1", "locator": "see binder"}, False),
])
def test_a_citation_at_a_labelled_place(citation, place, hit):
    assert at_place(citation, place) is hit


def test_a_quote_across_table_rows_is_spliced():
    doc = Source(id="A1", file="a.docx", role="artifact", kind="docx",
                 segments=[Segment(paragraph=2, text="Attendance by group\nGroup | Rate\nEnglish learners | 81%")])
    screening = Screening(report=Report(submission_id="S", credential="c", rubric_version="1", drafter="x",
                                        readiness="ready"), sources={"A1": doc})
    assert spliced(Citation(artifact_id="A1", paragraph=2, quote="Group | Rate English learners | 81%"), screening)
    assert not spliced(Citation(artifact_id="A1", paragraph=2, quote="English learners | 81%"), screening)


def test_gap_metrics_and_the_split_by_author():
    tally = Tally(truth=["evidenced", "weak", "missing", "weak"], drafted=["weak", "weak", "weak", "evidenced"])
    scores = summary(tally)
    assert (scores["gap_precision"], scores["gap_recall"]) == (2 / 3, 2 / 3)
    assert scores["gap_f1"] == pytest.approx(2 / 3)
    splits = load_splits()
    assert split_of({"author": "legacy"}, splits) == "dev" and set(splits["dev"]).isdisjoint(splits["test"])


def test_keys_lists_a_splits_answer_keys_for_training(capsys):
    """`--keys` prints the keys `prescreen train` is given: the dev split's never include a test author's."""
    import yaml
    from eval_labelled import ROOT, main

    assert main(["--split", "dev", "--keys"]) == {}
    keys = capsys.readouterr().out.split()
    test_authors = set(load_splits()["test"])
    authors = {str(yaml.safe_load((ROOT / k).read_text()).get("author", "legacy")) for k in keys}
    assert len(keys) >= 30 and authors and not authors & test_authors
    main(["--keys"])
    assert len(capsys.readouterr().out.split()) > len(keys)


def test_data_dir_keeps_the_screens_state_for_a_rerun(tmp_path, capsys):
    """`--data-dir` keeps the index (and, with --drafter llm, the model's answer cache) between runs."""
    from eval_labelled import ROOT, main

    key = ROOT / "benchmarks" / "labelled" / "d-westbrook-elem.labels.yaml"
    first = main(["--data-dir", str(tmp_path), str(key)])
    assert any(tmp_path.iterdir()) and first["test"]["details"] == 12
    assert main(["--data-dir", str(tmp_path), str(key)]) == first


def test_an_llm_run_counts_the_outcomes_the_extractive_drafter_stood_in_for():
    from prescreen.report import DrafterSummary, LLMUsage, OutcomeCall, OutcomeFallback

    drafted_by = DrafterSummary(model="m", outcomes=2, llm_outcomes=["EO1"],
                                fallbacks=[OutcomeFallback(outcome_id="EO2", reason="timeout")])
    places = [OutcomeCall(outcome_id="places", drafted_by="llm:m", calls=1),
              OutcomeCall(outcome_id="places", drafted_by="extractive", fallback_reason="deadline")]
    report = Report(submission_id="S", credential="c", rubric_version="1", drafter="llm:m", readiness="ready",
                    drafter_summary=drafted_by, llm_usage=LLMUsage(places=places))
    tally = Tally()
    tally.add({"bundle": "benchmarks/labelled/x", "details": {}, "readiness": "ready"}, Screening(report=report))
    assert (summary(tally)["llm_outcomes"], summary(tally)["llm_fallbacks"]) == (1, 1)
    assert (summary(tally)["places_read"], summary(tally)["places_unread"]) == (1, 1)
    assert "x: EO2 fell back to the extractive drafter (timeout)" in tally.notes
    assert "x: the LLM could not read pointed places (deadline)" in tally.notes
    assert "llm_outcomes" not in summary(Tally(truth=["weak"], drafted=["weak"]))  # an extractive run says nothing
    assert "places_read" not in summary(Tally(truth=["weak"], drafted=["weak"]))
