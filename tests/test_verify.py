import pytest

from prescreen.models import Segment, Source
from prescreen.report import Citation, DetailFinding
from prescreen.verify import check_citation, quote_in, verify_findings

PDF = Source(
    id="A1", file="a.pdf", role="artifact", kind="pdf", page_count=2,
    segments=[
        Segment(page=1, text="Cover page of the equity audit."),
        Segment(page=2, text="We shared the “working defini-\ntion of equity” with   all staff\non August 20."),
    ],
)
VTT = Source(
    id="A2", file="n.vtt", role="artifact", kind="transcript",
    segments=[
        Segment(start=10, end=15, text="Families told us the bus"),
        Segment(start=15, end=20, text="leaves before tutoring ends."),
        Segment(start=60, end=65, text="Thank you all for coming."),
    ],
)
DOC = Source(id="A3", file="p.docx", role="artifact", kind="docx",
             segments=[Segment(paragraph=1, text="Goal one is measurable."),
                       Segment(paragraph=2, text="Owners review data monthly.")])
SOURCES = {s.id: s for s in (PDF, VTT, DOC)}


def cite(**kw) -> Citation:
    return Citation(**kw)


@pytest.mark.parametrize("quote, source", [
    ('The "working definition" of Equity', "The “working defini-\ntion”  of\tEquity"),  # curly quotes, line-end hyphen
    ("a well-known plan", "a well-\nknown plan"),  # the hyphen kept, or
    ("an equitable plan", "an equi-\ntable plan"),  # dropped, where a line break follows it
    ("from 12-15 families", "from 12–15 families"),  # dashes
    ("the ﬁrst meeting", "the first meeting"),  # NFKC
    ("a ten minute call", "a ten\u00a0minute\u200b call"),  # no-break and zero-width spaces
])
def test_quote_matches_up_to_what_copying_changes(quote, source):
    assert quote_in(quote, source)


@pytest.mark.parametrize("quote, source", [
    ("1215 families attended", "12-15 families attended"),  # a hyphen is a character
    ("we shared the plan", "We shared the plan"),  # so is case
    ("equity plan adopted", "equality plan adopted"),
    ("a wellknown plan", "a well-known plan"),  # no line break: the hyphen stays
    ("an equi table", "an equi-\ntable"),
])
def test_quote_does_not_match_with_characters_dropped_or_case_changed(quote, source):
    assert not quote_in(quote, source)


def test_quote_at_cited_page_with_curly_quotes_and_line_end_hyphen():
    c = cite(artifact_id="A1", page=2, quote='We shared the "working definition of equity" with all staff')
    assert check_citation(c, SOURCES) is None


def test_quote_on_wrong_page_is_rejected():
    c = cite(artifact_id="A1", page=1, quote="We shared the working definition of equity")
    assert check_citation(c, SOURCES) == "quote not found at the cited place"


def test_hallucinated_or_paraphrased_quote_is_rejected():
    assert check_citation(cite(artifact_id="A1", page=2, quote="We shared our definition with every parent"), SOURCES)
    assert check_citation(cite(artifact_id="A9", page=2, quote="We shared the working definition"), SOURCES)
    assert check_citation(cite(artifact_id="A1", page=7, quote="We shared the working definition"), SOURCES)


def test_too_short_quotes_prove_nothing():
    assert "shorter" in check_citation(cite(artifact_id="A1", page=2, quote="equity"), SOURCES)


def test_transcript_quote_across_cues_inside_the_cited_span():
    good = cite(artifact_id="A2", start=10, end=20, quote="the bus leaves before tutoring ends")
    late = cite(artifact_id="A2", start=60, end=65, quote="the bus leaves before tutoring ends")
    no_time = cite(artifact_id="A2", quote="the bus leaves before tutoring ends")
    assert check_citation(good, SOURCES) is None
    assert check_citation(late, SOURCES) and check_citation(no_time, SOURCES)


def test_paragraph_citations():
    assert check_citation(cite(artifact_id="A3", paragraph=2, quote="Owners review data monthly."), SOURCES) is None
    assert check_citation(cite(artifact_id="A3", paragraph=1, quote="Owners review data monthly."), SOURCES)


def test_verify_drops_counts_and_downgrades():
    finding = DetailFinding(
        detail_id="EO1.1", status="evidenced", confidence=0.9, rationale="Shared with staff.",
        citations=[cite(artifact_id="A1", page=1, quote="We shared the working definition of equity")],
    )
    kept = DetailFinding(
        detail_id="EO1.2", status="evidenced", confidence=0.9, rationale="ok",
        citations=[cite(artifact_id="A1", page=2, quote="with all staff on August 20"),
                   cite(artifact_id="A1", page=2, quote="made up words not in the source")],
    )
    out = verify_findings([finding, kept], SOURCES)
    assert out[0].status == "weak" and out[0].citations == [] and out[0].citations_dropped == 1
    assert "no citation could be verified" in out[0].rationale
    assert out[1].status == "evidenced" and out[1].citations_dropped == 1
    assert [c.verified for c in out[1].citations] == [True]
