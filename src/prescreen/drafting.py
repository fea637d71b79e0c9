"""Draft findings per rubric detail. The extractive drafter is the offline default: no model call, no network.

It reads the candidate passages sentence by sentence (a table row, a slide's line and a transcript's cue are
sentences too), scores each with the learned sentence model (evidence_model.py), and lets the learned
status model tell evidence (something done or documented, in an artifact) from a mere mention (a plan for
next year, a claim made only in the narrative, a topic named in passing). Every quote it drafts is an exact
unit of the source at its page, paragraph or time; the verifier checks that anyway, for every drafter.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field

from prescreen.checks import is_instruction
from prescreen.chunking import covered, join_segments, segments_in
from prescreen.evidence_model import EvidenceModel, ScoredSentence, SentenceInput, markers
from prescreen.locators import place_in
from prescreen.models import Chunk, Detail, Rubric, Source
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


# ---------------------------------------------------------------- sentences at their places


class Sentence(BaseModel):
    """One sentence of a candidate passage: its exact place, what the sentence model reads, its score."""

    citation: Citation
    input: SentenceInput
    at_pointer: bool = False
    score: float = 0.0
    chunk_id: str = Field("", description="The candidate chunk the sentence was read from.")

    def scored(self) -> ScoredSentence:
        text, m = self.input.text, markers(self.input.text)
        return ScoredSentence(
            score=self.score, role=self.input.role, at_pointer=self.at_pointer, source=self.citation.artifact_id,
            plan=m.plan, negated=m.negated, past=m.past, words=frozenset(stems(f"{text} {self.input.context}")),
        )


def sentences_of(candidate: Candidate, source: Source) -> list[tuple[Citation, str, bool]]:
    """The sentences of a candidate chunk: each as a citation at its exact place, with its context (the
    page's title or the section heading, and the text around it) and whether it is a row of a table."""
    chunk = candidate.chunk
    if source.kind == "pdf":
        page = next((s.text for s in source.segments if s.page == chunk.page), chunk.text)
        units = sentence_spans(page, layout=True)
        title = page[units[0][0]:units[0][1]] if units else ""
        return [
            (_cite(source, page[a:b], page=chunk.page), _around(page, units, i, title), True)
            for i, (a, b) in enumerate(units)
            if a < chunk.char_end and b > chunk.char_start
        ]
    if source.kind == "transcript":
        text, spans = join_segments(source, segments_in(source, chunk))
        units = sentence_spans(text)
        out = []
        for i, (a, b) in enumerate(units):
            hit = covered(spans, a, b)
            citation = _cite(source, text[a:b], start=hit[0].start, end=hit[-1].end)
            out.append((citation, _around(text, units, i, ""), False))
        return out
    return [
        (_cite(source, p.text[a:b], paragraph=p.paragraph), f"{p.section or ''}\n{p.text}", " | " in p.text[a:b])
        for p in segments_in(source, chunk) for a, b in sentence_spans(p.text)
    ]


def _around(text: str, units: list[tuple[int, int]], i: int, title: str) -> str:
    """A unit's neighbours (and the page's title): what a reader sees around it."""
    near = units[max(0, i - 2): i + 3]
    return f"{title}\n" + " ".join(text[a:b] for a, b in near)


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


# ---------------------------------------------------------------- the extractive drafter


class ExtractiveDrafter:
    """Offline drafter: no model call. The learned sentence model scores every candidate sentence; the
    learned status model decides the status; the citations are the best-scored sentences, the earner's own
    pointer first when it holds evidence."""

    name = "extractive"

    def __init__(self, model: EvidenceModel | None = None):
        self.model = model or EvidenceModel.load()

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
        sentences = self.scored_sentences(detail, candidates, sources)
        best_similarity = max((c.similarity for c in candidates), default=0.0)
        probs = self.model.status_of(detail, [s.scored() for s in sentences], best_similarity)
        status = max(probs, key=probs.__getitem__)
        return DetailFinding(
            detail_id=detail.id, status=status, confidence=round(probs[status], 2),
            citations=[s.citation for s in cited(status, sentences)], rationale=rationale(status, sentences),
        )

    def ranked_chunks(self, detail: Detail, candidates: list[Candidate], sources: dict[str, Source]) -> list[Chunk]:
        """The detail's candidate chunks in the order a reader should see them (for the LLM drafter's passages)."""
        return ranked_chunks(self.scored_sentences(detail, candidates, sources), candidates)

    def scored_sentences(
        self, detail: Detail, candidates: list[Candidate], sources: dict[str, Source]
    ) -> list[Sentence]:
        """Every distinct candidate sentence worth reading, scored by the sentence model, best first."""
        sentences = candidate_sentences(detail, candidates, sources)
        scores = self.model.score_sentences(detail, [s.input for s in sentences])
        for sentence, score in zip(sentences, scores, strict=True):
            sentence.score = score
        return sorted(sentences, key=lambda s: s.score, reverse=True)


def ranked_chunks(sentences: list[Sentence], candidates: list[Candidate]) -> list[Chunk]:
    """The candidate chunks by their best scored sentence, the first chunk the earner points to first: what a
    reader of the detail should see, in order."""
    best: dict[str, float] = {}
    for s in sentences:
        best[s.chunk_id] = max(best.get(s.chunk_id, 0.0), s.score)
    ranked = sorted(candidates, key=lambda c: -best.get(c.chunk.id, 0.0))
    pointed = [c for c in ranked if c.pointed_by_earner][:1]
    return [c.chunk for c in pointed + [c for c in ranked if c not in pointed]]


def candidate_sentences(detail: Detail, candidates: list[Candidate], sources: dict[str, Source]) -> list[Sentence]:
    """The sentences of the candidate chunks, once each; instructions and table header rows left out."""
    top_lexical = max((c.lexical for c in candidates), default=0.0) or 1.0
    top_similarity = max((c.similarity for c in candidates), default=0.0)
    seen: set[tuple] = set()
    out = []
    for candidate in candidates:
        source = sources.get(candidate.chunk.source_id)
        if source is None:
            continue
        for citation, context, table in sentences_of(candidate, source):
            key = (citation.artifact_id, citation.page, citation.paragraph, citation.start, citation.quote)
            if key in seen or len(citation.quote.split()) < 3 or is_instruction(citation.quote) \
                    or is_table_header(citation.quote):
                continue
            seen.add(key)
            out.append(Sentence(
                citation=citation, chunk_id=candidate.chunk.id,
                at_pointer=any(place_in(loc, citation) for loc in candidate.pointed),
                input=SentenceInput(
                    text=citation.quote, context=context, role=source.role, kind=source.kind, table=table,
                    similarity=candidate.similarity, lexical=candidate.lexical / top_lexical,
                    best_similarity=top_similarity,
                ),
            ))
    return out


def cited(status: str, sentences: list[Sentence]) -> list[Sentence]:
    """What an assessor should read first: for evidence, the artifacts' best sentences, with the earner's
    own pointer first when it holds a sentence nearly as good; for a gap, what the claim rests on."""
    if status == "missing" or not sentences:
        return []
    pool = [s for s in sentences if s.input.role == "artifact"] if status == "evidenced" else sentences
    pool = pool or sentences
    best = pool[0].score
    pointer = [s for s in pool if s.at_pointer and s.score >= POINTER_FIRST_AT * best]
    unique: dict[str, Sentence] = {}
    for s in pointer[:1] + pool:
        unique.setdefault(s.citation.quote, s)
    return list(unique.values())[:MAX_CITATIONS]


POINTER_FIRST_AT = 0.6  # the earner's pointer is cited first when its sentence scores this share of the best


def rationale(status: str, sentences: list[Sentence]) -> str:
    """One or two sentences on why, in words an assessor or an earner acts on."""
    artifact = [s for s in sentences if s.input.role == "artifact"]
    if status == "evidenced":
        places = dict.fromkeys(f"{s.citation.artifact_id} {s.citation.where}" for s in cited(status, sentences))
        return f"Shown in {', '.join(places)}."
    if status == "missing":
        return "No passage in the submission addresses this detail."
    best = artifact[0].scored() if artifact else None
    narrative = [s for s in sentences if s.input.role == "part"]
    if best and best.plan:
        return "Only plans or intentions found in the artifacts, not something done."
    if best and best.negated:
        return "The artifacts say this has not been done yet."
    if narrative and (not artifact or narrative[0].score > artifact[0].score):
        return "Described in the narrative, but not shown in any artifact."
    return "The topic is mentioned, but no passage shows it being done."
