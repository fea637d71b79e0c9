"""Draft findings per rubric detail. The extractive drafter is the offline default: no model, no network.

It reads the candidate passages sentence by sentence and tells evidence (something done, concrete, in an
artifact) from a mere mention (a plan for next year, a definition never shared, a topic named in passing).
Every quote it drafts is an exact sentence of the source at its page, paragraph or time; the verifier checks
that anyway, for this drafter as for any other.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Protocol

from pydantic import BaseModel, Field

from prescreen.checks import is_instruction
from prescreen.chunking import covered, join_segments, segments_in
from prescreen.models import Detail, Rubric, Source
from prescreen.report import Citation, DetailFinding, LLMUsage
from prescreen.retrieve import Candidate
from prescreen.textutil import sentence_spans, stems

MAX_QUOTE_CHARS = 320
MAX_CITATIONS = 3


class Draft(BaseModel):
    """A drafter's output for one submission: a finding per detail, and what drafting cost."""

    findings: list[DetailFinding]
    usage: LLMUsage | None = None
    notes: list[str] = Field(default_factory=list)
    prompt_version: str | None = None


class Drafter(Protocol):
    """Drafts a finding for every detail from the evidence retrieved for it."""

    name: str

    def draft(self, rubric: Rubric, evidence: dict[str, list[Candidate]], sources: dict[str, Source]) -> Draft: ...


class Sentence(BaseModel):
    """One sentence of a candidate passage, with its exact place and what it looks like."""

    citation: Citation
    role: str  # "artifact" | "part"
    relevance: float
    concrete: bool
    plan: bool
    negated: bool


# ---------------------------------------------------------------- sentences at their places


def sentences_of(candidate: Candidate, source: Source) -> list[Citation]:
    """The sentences of a candidate chunk, each as a citation at its exact place."""
    chunk = candidate.chunk
    if source.kind == "pdf":
        page = next((s.text for s in source.segments if s.page == chunk.page), chunk.text)
        return [
            _cite(source, page[a:b], page=chunk.page)
            for a, b in sentence_spans(page, layout=True)
            if a < chunk.char_end and b > chunk.char_start
        ]
    if source.kind == "transcript":
        text, spans = join_segments(source, segments_in(source, chunk))
        out = []
        for a, b in sentence_spans(text):
            hit = covered(spans, a, b)
            out.append(_cite(source, text[a:b], start=hit[0].start, end=hit[-1].end))
        return out
    paragraphs = segments_in(source, chunk)
    return [_cite(source, p.text[a:b], paragraph=p.paragraph) for p in paragraphs for a, b in sentence_spans(p.text)]


def _cite(source: Source, quote: str, **place: object) -> Citation:
    """The sentence as a citation: its words exactly, line breaks folded to spaces, long ones cut at a word."""
    quote = " ".join(quote.split())
    if len(quote) > MAX_QUOTE_CHARS:
        quote = quote[:MAX_QUOTE_CHARS].rsplit(" ", 1)[0]
    return Citation(artifact_id=source.id, quote=quote, **place)


def is_table_header(text: str) -> bool:
    """`Date | Session | Led by`: column names, not evidence."""
    cells = [c.strip() for c in text.split("|") if c.strip()]
    return len(cells) > 1 and not any(ch.isdigit() for ch in text) and all(len(c.split()) <= 4 for c in cells)


# ---------------------------------------------------------------- what a sentence looks like

_PAST_VERB = (
    r"(?:[a-z]{3,}ed|met|led|held|gave|built|began|ran|took|made|chose|wrote|sent|brought|spoke|found|"
    r"taught|grew|fell|rose|cut|drew|saw|told|sat|shared|did|got|put|set up|kept|went|learned|learnt)"
)
# something done by someone: a subject, then a past verb in the same clause; or a past passive
_PAST_ACTION = re.compile(
    r"\b(?:we|I|our\s+\w+|staff|teachers|team|they|students|families|parents|[A-Z][a-z]+)\b[^.;:|\n]{0,60}?\b"
    + _PAST_VERB + r"\b|\b(?:was|were|has been|have been|had been)\s+(?:\w+ly\s+)?" + _PAST_VERB + r"\b",
    re.I,
)
_SPECIFIC = re.compile(  # what makes a plan concrete: numbers, dates, frequencies, owners
    r"\b\d+(?:[.,]\d+)?\s*%|\b\d{1,4}\b|\b(?:daily|weekly|monthly|quarterly|annually|biweekly|every|each|"
    r"twice|once|responsible|owner|lead|January|February|March|April|May|June|July|August|September|October|"
    r"November|December)\b",
    re.I,
)
_PLAN = re.compile(
    r"\b(?:will|plan(?:s|ning)? to|intend(?:s|ed)? to|hope(?:s|d)? to|hoping|would like|want(?:s)? to|"
    r"next (?:year|fall|spring|semester|school year)|going to|aim(?:s)? to|should|could|might|someday|"
    r"eventually|in the future|would be|would have)\b",
    re.I,
)
_NEGATED = re.compile(
    r"\b(?:not yet|have not|has not|haven't|hasn't|did not|didn't|never|no one|nobody|none of|not been|"
    r"was not|were not|wasn't|weren't)\b",
    re.I,
)


def describe_sentence(detail: Detail, citation: Citation, role: str, similarity: float, context: str = "") -> Sentence:
    """What a sentence looks like; `context` (its section heading) counts toward relevance, never as a quote."""
    text = citation.quote
    past = _PAST_ACTION.search(text)
    plan = _PLAN.search(text)
    return Sentence(
        citation=citation,
        role=role,
        relevance=relevance(detail, f"{context}\n{text}", similarity),
        concrete=bool(past) or (detail.evidence == "plan" and bool(_SPECIFIC.search(text))),
        # "Next year we will ..." is a plan; "In August staff agreed on goals every class will meet" is not
        plan=bool(plan) and detail.evidence == "action" and (past is None or plan.start() < past.end()),
        negated=bool(_NEGATED.search(text)),
    )


def relevance(detail: Detail, text: str, similarity: float) -> float:
    """0..1: the chunk's semantic similarity, and the sentence's own overlap with the detail and its look-fors."""
    words = set(stems(text))
    if not words:
        return 0.0
    detail_words, phrases = _terms(detail.text, tuple(detail.look_fors))
    overlap = len(words & detail_words) / max(1, min(len(detail_words), 6))
    hits = sum(1 for p in phrases if p <= words)
    lexical = min(1.0, 0.5 * overlap + 0.35 * hits)
    return 0.5 * max(similarity, 0.0) + 0.5 * lexical


@lru_cache(maxsize=1024)
def _terms(text: str, look_fors: tuple[str, ...]) -> tuple[frozenset[str], tuple[frozenset[str], ...]]:
    """A detail's stems and its look-fors' stems, computed once per detail."""
    return frozenset(stems(text)), tuple(p for phrase in look_fors if (p := frozenset(stems(phrase))))


# ---------------------------------------------------------------- the extractive drafter


class ExtractiveDrafter:
    """Offline drafter: extraction and rules, no model."""

    name = "extractive"

    def __init__(self, evidenced_at: float = 0.42, relevant_at: float = 0.3, stated_at: float = 0.6):
        self.evidenced_at = evidenced_at  # an artifact sentence this relevant, showing something done, is evidence
        self.relevant_at = relevant_at  # below this a sentence is not about the detail at all
        self.stated_at = stated_at  # for `statement` details: a statement this close counts without an action

    def draft(self, rubric: Rubric, evidence: dict[str, list[Candidate]], sources: dict[str, Source]) -> Draft:
        return Draft(findings=self.draft_details(rubric, rubric.details, evidence, sources))

    def draft_details(
        self, rubric: Rubric, details: list[Detail], evidence: dict[str, list[Candidate]], sources: dict[str, Source]
    ) -> list[DetailFinding]:
        return [
            self.draft_detail(detail, evidence.get(detail.id, []), sources).model_copy(
                update={"outcome_id": rubric.outcome_of(detail.id).id}
            )
            for detail in details
        ]

    def draft_detail(self, detail: Detail, candidates: list[Candidate], sources: dict[str, Source]) -> DetailFinding:
        sentences = self._relevant_sentences(detail, candidates, sources)
        evidence = [
            s for s in sentences
            if not s.plan and not s.negated
            and (s.concrete or (detail.evidence == "statement" and s.relevance >= self.stated_at))
        ]
        in_artifacts = [s for s in evidence if s.role == "artifact"]
        strong = [s for s in in_artifacts if s.relevance >= self.evidenced_at]
        if strong:
            return _finding(detail, "evidenced", strong + in_artifacts, _conf(strong[0].relevance, 0.55),
                            f"Concrete evidence in {_places(strong)}.")
        if evidence or sentences:
            return self._weak(detail, sentences, evidence)
        best = max((c.similarity for c in candidates), default=0.0)
        return _finding(detail, "missing", [], _conf(1 - best, 0.5),
                        "No passage in the submission addresses this detail.")

    def _weak(self, detail: Detail, sentences: list[Sentence], evidence: list[Sentence]) -> DetailFinding:
        if evidence and all(s.role == "part" for s in evidence):
            why = "Described in the narrative, but not shown in any artifact."
        elif any(s.plan for s in sentences) and not evidence:
            why = "Only plans or intentions found, not something done."
        elif any(s.negated for s in sentences) and not evidence:
            why = "The submission says this has not been done yet."
        else:
            why = "The topic is mentioned, but no passage shows it being done."
        cited = evidence + [s for s in sentences if s not in evidence]
        return _finding(detail, "weak", cited, 0.5, why)

    def _relevant_sentences(
        self, detail: Detail, candidates: list[Candidate], sources: dict[str, Source]
    ) -> list[Sentence]:
        seen: set[tuple] = set()
        out = []
        for candidate in candidates:
            source = sources.get(candidate.chunk.source_id)
            if source is None:
                continue
            boost = 0.05 if candidate.pointed_by_earner else 0.0
            for citation in sentences_of(candidate, source):
                key = (citation.artifact_id, citation.page, citation.paragraph, citation.start, citation.quote)
                if key in seen or len(citation.quote.split()) < 4 or is_instruction(citation.quote) \
                        or is_table_header(citation.quote):
                    continue
                seen.add(key)
                context = _section_of(source, citation)
                sentence = describe_sentence(detail, citation, source.role, candidate.similarity + boost, context)
                if sentence.relevance >= self.relevant_at:
                    out.append(sentence)
        return sorted(out, key=lambda s: s.relevance, reverse=True)


def _section_of(source: Source, citation: Citation) -> str:
    if citation.paragraph is None:
        return ""
    return next((s.section or "" for s in source.segments if s.paragraph == citation.paragraph), "")


def _finding(detail: Detail, status: str, sentences: list[Sentence], confidence: float, rationale: str) -> DetailFinding:
    citations, seen = [], set()
    for s in sentences:
        if s.citation.quote not in seen:
            seen.add(s.citation.quote)
            citations.append(s.citation)
    return DetailFinding(
        detail_id=detail.id, status=status, confidence=round(confidence, 2),
        citations=citations[:MAX_CITATIONS], rationale=rationale,
    )


def _conf(score: float, floor: float) -> float:
    return max(0.0, min(0.95, floor + (1 - floor) * max(0.0, score - 0.3) / 0.5))


def _places(sentences: list[Sentence]) -> str:
    places = dict.fromkeys(f"{s.citation.artifact_id} {s.citation.where}" for s in sentences[:MAX_CITATIONS])
    return ", ".join(places)
