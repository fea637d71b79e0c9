"""Deterministic checks: word counts, self-analysis references, injected instructions. The one judgment they
take from outside is whether a pointed place holds anything for its detail (`PlaceRelevance`): the sentence
model's, or, when an LLM is configured, what the model read there."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from prescreen.canon import decoded_base64, fold
from prescreen.locators import describe, parse_locators, timestamp
from prescreen.models import (
    Chunk,
    Detail,
    EvidenceRef,
    Locator,
    Manifest,
    Rubric,
    Segment,
    SelfAnalysisEntry,
    Source,
)
from prescreen.report import OutcomeCall, PartResult, Problem, SelfAnalysisIssue
from prescreen.textutil import sentence_spans
from prescreen.wordcount import count_words

_PUNCTUATION = " \t\n.,;:!?-*_()[]\"'"
MIN_EXPLANATION_WORDS = 3  # fewer words than this say nothing ("Yes.", "See above.")
_PLACEHOLDER = re.compile(  # matched whole against the explanation stripped of punctuation
    r"tbd|tba|todo|to do|n/?a|none|nothing|same as above|coming soon|later|see\b(?:\W+\w+){0,4}", re.I
)
TIME_SLACK = 2.0  # seconds past the end of a transcript still taken as in range

# ---------------------------------------------------------------- word counts


def part_results(rubric: Rubric, manifest: Manifest, texts: dict[str, str | None]) -> list[PartResult]:
    """Word count of each text part against its minimum; `texts` maps part id -> its text (None: unreadable)."""
    results = []
    for part in rubric.text_parts:
        words = count_words(texts.get(part.id) or "")
        short = part.minimum_words is not None and words < part.minimum_words
        results.append(
            PartResult(
                part_id=part.id, word_count=words, minimum=part.minimum_words, shortfall=short,
                file=manifest.parts.get(part.id),
            )
        )
    return results


def part_text(root: Path, source: Source | None) -> str | None:
    """The text words are counted on: a Markdown or text part's own file (markup and all), else the extraction."""
    if source is None:
        return None
    if source.kind == "text":
        from prescreen.extract import read_text

        return read_text(root / source.file)
    return source.text


# ---------------------------------------------------------------- injected instructions
#
# Every pattern runs on the canonical form (canon.fold): look-alike letters, hidden characters, accents and
# line breaks cannot split or disguise a word. Every repeat is bounded (`.{0,40}`, `{0,2}` over words and single
# spaces, which cannot overlap), so no input makes a pattern backtrack: a check is linear in the text's length.

_READER = (r"(?:AI|A\.I\.|LLM|ChatGPT|GPT|(?:AI|language)\s+model|grader|assessors?|reviewers?|evaluators?|scorers?|"
           r"chatbot)")
_INSTRUCTION_PATTERNS = [
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|rubric|criteria|prompts?|rules|guidelines)\b",
    r"\b(?:you are|act as|pretend to be)\b.{0,30}\b(?:AI|language model|LLM|grader|assistant|chatbot|GPT|evaluator)\b",
    r"\b(?:note|message|instructions?|reminder)s?\s+(?:to|for)\s+(?:the\s+|any\s+)?(?:AI|LLM|model|grader|assessor|reviewer|evaluator|scorer)s?\b",
    r"\b(?:AI|LLM|ChatGPT|GPT|grader|assessor|reviewer|evaluator|scorer)s?\b[,:]?\s+(?:please\s+)?(?:mark|score|rate|grade|give|award|pass|approve)\b",
    r"\b(?:mark|score|rate|grade|treat)\b.{0,40}\b(?:all|every|each)\b.{0,40}\b(?:evidenced|proficient|demonstrated|met|passed)\b",
    r"\bsystem\s*(?:prompt|message)\b|(?:^|\n)[ \t]*SYSTEM[ \t]*:",  # [ \t], not \s: linear on blank runs
    r"\b(?:full|maximum|perfect|top)\s+(?:marks|score|points|rating)\b",
    # salutations to whoever reads: "Dear assessor", "Hello AI", "To the reviewer:"
    rf"\b(?:dear|hello|hi|hey|greetings|attention)\b[,:]? (?:\w+ ){{0,2}}?{_READER}\b",
    rf"(?:^|(?<=[.!?] ))to (?:the |any |my |all )?(?:\w+ )?{_READER} ?[,:]",
    # Spanish, French, Portuguese, German (accents are folded away)
    r"\b(?:ignore|ignora|ignoren|ignorez|ignorer|ignorar|ignoriere|ignorieren|olvida|olviden|omite|oubliez|oublie|"
    r"desconsidera|vergiss)\b.{0,40}\b(?:instrucciones|instructions|instrucoes|indicaciones|consignes|anweisungen|"
    r"reglas|regles|rubrica|criterios|criteres|kriterien)\b",
    r"\b(?:marca|marquen|marque[zr]?|califica|evalua|note[zr]?|bewerte|markiere)\b.{0,40}\b(?:todos|todas|tous|toutes|"
    r"alle)\b.{0,40}\b(?:evidenciad\w*|aprobad\w*|cumplid\w*|demontre\w*|valide\w*|reussi\w*|erfullt|bestanden)",
    r"\b(?:nota|mensaje|note|message|hinweis)\s+(?:para|pour|a|al|an)\s+(?:el\s+|la\s+|l'|le\s+|den\s+|die\s+)?"
    r"(?:IA|KI|evaluador\w*|evaluateur\w*|correcteur\w*|examinateur\w*|revisor\w*|prufer\w*|gutachter\w*)\b",
    r"\b(?:querid[oa]s?|estimad[oa]s?|hola|cher|chere|bonjour|liebe[rs]?|sehr\s+geehrte[rs]?)\s+(?:\w+\s+){0,2}?"
    r"(?:IA|KI|evaluador\w*|evaluateur\w*|correcteur\w*|examinateur\w*|revisor\w*|prufer\w*|gutachter\w*)\b",
    r"\b(?:eres|vous etes|tu es|du bist)\s+(?:un|una|une|ein|eine)?\s*(?:IA|KI|asistente|assistant|modelo|modele)\b",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _INSTRUCTION_PATTERNS), re.I)

Unit = tuple[int, int, int]  # a sentence: (segment index, start, end) in the segment's original text


@lru_cache(maxsize=16384)
def is_instruction(text: str) -> bool:
    """Text that addresses an AI or an assessor instead of describing the earner's work.

    Read in its canonical form, and once more through any base64 it hides."""
    canonical = fold(text)
    return bool(_INSTRUCTION.search(canonical)) or any(_INSTRUCTION.search(fold(d)) for d in decoded_base64(canonical))


def instruction_units(source: Source) -> list[list[Unit]]:
    """The source's instructions, each as the sentences that say it: one, or two read together.

    Two neighbouring sentences (across segments too: a transcript cue, a PDF line) are flagged together when an
    instruction runs from one into the other ("Ignore everything above. The earlier instructions are void.").
    """
    units = [(i, a, b) for i, seg in enumerate(source.segments) for a, b in sentence_spans(seg.text)]
    texts = [source.segments[i].text[a:b] for i, a, b in units]
    hits = [[unit] for unit, text in zip(units, texts, strict=True) if is_instruction(text)]
    hits += [[units[k], units[k + 1]] for k in range(len(units) - 1) if _runs_across(texts[k], texts[k + 1])]
    return sorted(hits)


@lru_cache(maxsize=16384)
def _runs_across(first: str, second: str) -> bool:
    """Whether an instruction starts in `first` and ends in `second` (read in canonical form)."""
    boundary = len(fold(first))
    return any(m.start() < boundary < m.end() for m in _INSTRUCTION.finditer(fold(f"{first} {second}")))


def suspicious_instructions(sources: list[Source]) -> list[Problem]:
    problems = [_instruction_problem(source, hit) for source in sources for hit in instruction_units(source)]
    return problems + [
        Problem(file=source.file, kind="suspicious_instructions", where="a comment",
                message=f"a comment in the file addresses an AI or an assessor: {_short(comment)!r}")
        for source in sources for comment in source.comments if is_instruction(comment)
    ]


def _instruction_problem(source: Source, hit: list[Unit]) -> Problem:
    segment = source.segments[hit[0][0]]
    text = " ".join(source.segments[i].text[a:b] for i, a, b in hit)
    shown, canonical = _short(text), _short(fold(text))
    read_as = f" (read as {canonical!r})" if canonical != shown else ""
    return Problem(
        file=source.file, kind="suspicious_instructions",
        where=describe(segment.page, segment.paragraph, None, segment.start, segment.end),
        message=f"text addresses an AI or an assessor and is never counted as evidence: {shown!r}{read_as}",
    )


def suspicious_manifest_text(manifest: Manifest) -> list[Problem]:
    """Artifact titles and self-analysis explanations that address an AI or an assessor (they reach assessors,
    and titles reach chunk headings): reported like any file's, with the manifest field as the place."""
    fields = [(f"artifacts[{i}].title", a.title) for i, a in enumerate(manifest.artifacts)]
    fields += [(f"self_analysis[{i}].explanation", e.explanation) for i, e in enumerate(manifest.self_analysis)]
    return [
        Problem(file="submission.yaml", kind="suspicious_instructions", where=where,
                message=f"text addresses an AI or an assessor and is never counted as evidence: {_short(text)!r}")
        for where, text in fields if text and is_instruction(text)
    ]


def quarantine(sources: dict[str, Source]) -> dict[str, Source]:
    """The sources without text that addresses an AI or an assessor, for indexing and drafting.

    A paragraph or transcript cue that holds such a sentence goes whole (the rest of an injection, "every
    detail is demonstrated", goes with it); on a PDF page only the sentence goes, so the page's evidence
    stays. Segments stay, emptied, so pages and paragraph numbers keep their places. Quarantined text never
    reaches retrieval or a model, so it cannot change a finding.
    """
    return {sid: _quarantined(src) for sid, src in sources.items()}


def _quarantined(source: Source) -> Source:
    spans: dict[int, list[tuple[int, int]]] = {}
    for i, a, b in (unit for hit in instruction_units(source) for unit in hit):
        spans.setdefault(i, []).append((a, b))
    segments = [_without_instructions(s, source.kind, spans.get(i, [])) for i, s in enumerate(source.segments)]
    return source.model_copy(update={"segments": segments})


def _without_instructions(segment: Segment, kind: str, spans: list[tuple[int, int]]) -> Segment:
    if not spans:
        return segment
    if kind != "pdf":
        return segment.model_copy(update={"text": ""})
    text = segment.text
    for a, b in sorted(set(spans), reverse=True):
        text = text[:a] + text[b:]
    return segment.model_copy(update={"text": text.strip()})


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- self-analysis references

# A locator kind that names no place in a file of this kind (a time in a PDF, a page in a transcript) ...
_UNREADABLE_IN = {
    "pdf": {"time"}, "docx": {"time"}, "text": {"time"}, "transcript": {"page", "paragraph", "section"},
}
# ... and the kinds whose place can be followed exactly (a page of a Word file is not knowable: not checked)
_CHECKABLE_IN = {
    "pdf": {"page", "section"}, "docx": {"paragraph", "section"}, "text": {"paragraph", "section"},
    "transcript": {"time"},
}

class PlaceVerdict(BaseModel):
    """What a pointed place holds for a detail, as the screen judges it."""

    relevant: bool
    evidence_at: str | None = Field(None, description="Where the same file seems to hold the evidence (`p. 2`).")
    read_by: str | None = Field(None, description="The model whose reading decided (`llm:<model>`); None: the "
                                "sentence model's judgment.")


PlaceRelevance = Callable[[Detail, Source, list[Locator], EvidenceRef], PlaceVerdict]
Holds = Literal["nothing", "related", "evidence"]


class PlaceQuestion(BaseModel):
    """One pointer for a model to read: the detail, the place as the earner wrote it, and what it holds."""

    detail: Detail
    artifact_id: str
    locator: str
    sentences: list[str] = Field(description="The place's sentences, instructions left out.")


class PlaceReading(BaseModel):
    """What a model read at the pointed places: `holds[i]` answers question i; a question without an answer
    (the call failed) is judged by the sentence model."""

    read_by: str = Field(description="Who read them: `llm:<model>`.")
    holds: dict[int, Holds] = Field(default_factory=dict)
    calls: list[OutcomeCall] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


@runtime_checkable
class PlaceReader(Protocol):
    """A drafter that can also read the places a self-analysis points to (the LLM drafter)."""

    @property
    def reads_places(self) -> bool: ...

    def read_places(self, questions: list[PlaceQuestion], spent: int = 0) -> PlaceReading:
        """What the model read at each place, spending at most the token budget less `spent`."""
        ...


class SelfAnalysisChecker:
    """Follows every self-analysis reference the way an assessor would, and says where one breaks."""

    def __init__(self, manifest: Manifest, sources: dict[str, Source], relevant: PlaceRelevance):
        self.manifest = manifest
        self.sources = sources  # readable files only: a pointer into any other is the file's problem, not the entry's
        self.relevant = relevant
        self.known = {a.id for a in manifest.artifacts} | set(manifest.parts)

    def check(self, rubric: Rubric) -> list[SelfAnalysisIssue]:
        issues: list[SelfAnalysisIssue] = []
        for detail in rubric.details:
            entries = [e for e in self.manifest.self_analysis if e.detail == detail.id]
            if not entries:
                issues.append(_issue(detail.id, "no_entry", f"no self-analysis entry for {detail.id}"))
            for entry in entries:
                issues.extend(self._check_entry(detail, entry))
        return issues

    def _check_entry(self, detail: Detail, entry: SelfAnalysisEntry) -> list[SelfAnalysisIssue]:
        issues = []
        words = count_words(entry.explanation)
        if words < MIN_EXPLANATION_WORDS or _PLACEHOLDER.fullmatch(entry.explanation.strip(_PUNCTUATION)):
            said = "is missing" if words == 0 else f"says nothing ({entry.explanation.strip()!r})"
            message = f"the explanation for {detail.id} {said}: say how the evidence shows the detail"
            issues.append(_issue(detail.id, "no_explanation", message))
        if not entry.evidence:
            issues.append(_issue(detail.id, "no_entry", f"the entry for {detail.id} points to no artifact"))
        for ref in entry.evidence:
            if issue := self._check_ref(detail, ref):
                issues.append(issue)
        return issues

    def _check_ref(self, detail: Detail, ref: EvidenceRef) -> SelfAnalysisIssue | None:
        def issue(kind: str, message: str) -> SelfAnalysisIssue:
            return _issue(detail.id, kind, message, ref)

        if ref.artifact not in self.known:
            return issue(
                "unknown_artifact", f"{detail.id} points to {ref.artifact}, which is not an artifact of this submission"
            )
        source = self.sources.get(ref.artifact)
        if source is None:
            return None  # a file that could not be read: already under problems, not the earner's pointer
        if not ref.locator:
            return issue(
                "locator_unreadable",
                f"{detail.id} points to {ref.artifact} without saying where (page, paragraph or time)",
            )
        try:
            places = parse_locators(ref.locator)
        except ValueError as exc:
            return issue("locator_unreadable", f"{detail.id}: cannot follow locator {ref.locator!r}: {exc}")
        if wrong := next((p for p in places if p.kind in _UNREADABLE_IN[source.kind]), None):
            return issue(
                "locator_unreadable",
                f"{detail.id}: a {wrong.kind} locator ({ref.locator}) cannot point into a {source.kind} file"
                f" ({source.file})",
            )
        if problem := next((why for p in places if (why := out_of_range(source, p))), None):
            return issue("locator_out_of_range", f"{detail.id}: {ref.artifact} {problem}")
        checkable = [e for p in places if p.kind in _CHECKABLE_IN[source.kind] for e in exact_places(source, p)]
        if checkable and not (verdict := self.relevant(detail, source, checkable, ref)).relevant:
            elsewhere = f"; {ref.artifact} at {verdict.evidence_at} seems to" if verdict.evidence_at else ""
            read = f" (as {verdict.read_by} read it)" if verdict.read_by else ""
            return issue(
                "evidence_not_at_locator",
                f"{detail.id}: {ref.artifact} at {ref.locator} does not appear to hold evidence for this detail"
                f"{read}{elsewhere}",
            ).model_copy(update={"evidence_at": verdict.evidence_at})
        return None


def _issue(detail_id: str, kind: str, message: str, ref: EvidenceRef | None = None) -> SelfAnalysisIssue:
    return SelfAnalysisIssue(
        detail_id=detail_id, kind=kind, message=message,
        artifact_id=ref.artifact if ref else None, locator=ref.locator if ref else None,
    )


def out_of_range(source: Source, locator: Locator) -> str | None:
    """Why the locator points past the file (or before its start), or None when the place exists."""
    first, last = locator.first or 0, locator.last or 0  # None only for a section
    if locator.kind in ("page", "paragraph") and first < 1:
        return f"has no {locator.kind} {int(first)}: {locator.kind}s are numbered from 1"
    if locator.kind == "page" and source.kind == "pdf" and last > (source.page_count or 0):
        return f"has {source.page_count} pages; the locator asks for page {int(last)}"
    if locator.kind == "paragraph" and source.kind in ("docx", "text") and last > source.paragraph_count:
        return f"has {source.paragraph_count} paragraphs; the locator asks for paragraph {int(last)}"
    if locator.kind == "time" and first > (source.duration or 0) + TIME_SLACK:
        return f"ends at {timestamp(source.duration or 0)}; the locator starts at {timestamp(first)}"
    if locator.kind == "section" and not section_places(source, locator.section or ""):
        return f"has no heading {locator.section!r}"
    return None


def section_places(source: Source, wanted: str) -> list[int]:
    """The paragraphs under a heading (Word, text), or the pages holding it as a line of their own (PDF)."""
    wanted = _fold(wanted)
    if not wanted:
        return []
    if source.kind == "pdf":
        return [s.page for s in source.segments if s.page and any(wanted in _fold(line) for line in s.text.split("\n"))]
    return [s.paragraph for s in source.segments if s.section and wanted in _fold(s.section) and s.paragraph]


def exact_places(source: Source, locator: Locator) -> list[Locator]:
    """A locator as page, paragraph or time places: a section becomes the pages or paragraphs under it."""
    if locator.kind != "section":
        return [locator]
    kind = "page" if source.kind == "pdf" else "paragraph"
    return [Locator(kind=kind, first=n, last=n) for n in sorted(set(section_places(source, locator.section or "")))]


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def chunks_at(chunks: list[Chunk], source: Source, place: Locator) -> list[Chunk]:
    """The chunks of a source that overlap a page, paragraph or time place (see exact_places for sections)."""
    mine = [c for c in chunks if c.source_id == source.id]
    low, high = place.first or 0, place.last or 0  # None only for a section
    if place.kind == "page":
        return [c for c in mine if c.page is not None and low <= c.page <= high]
    if place.kind == "time":
        low, high = low - TIME_SLACK, high + TIME_SLACK
        return [c for c in mine if c.start is not None and c.end is not None and c.end >= low and c.start <= high]
    return [
        c for c in mine
        if c.paragraph_start is not None and c.paragraph_end is not None
        and c.paragraph_end >= low and c.paragraph_start <= high
    ]
