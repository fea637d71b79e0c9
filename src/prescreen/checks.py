"""Deterministic checks, never left to a model: word counts, self-analysis references, injected instructions."""

from __future__ import annotations

import re
from functools import lru_cache
from collections.abc import Callable
from pathlib import Path

from prescreen.locators import describe, parse_locator, timestamp
from prescreen.models import Chunk, Detail, EvidenceRef, Locator, Manifest, Rubric, SelfAnalysisEntry, Source
from prescreen.report import PartResult, Problem, SelfAnalysisIssue
from prescreen.textutil import sentence_spans
from prescreen.wordcount import count_words

MIN_EXPLANATION_WORDS = 8
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

_INSTRUCTION_PATTERNS = [
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|rubric|criteria|prompts?|rules|guidelines)\b",
    r"\b(?:you are|act as|pretend to be)\b.{0,30}\b(?:AI|language model|LLM|grader|assistant|chatbot|GPT|evaluator)\b",
    r"\b(?:note|message|instructions?|reminder)s?\s+(?:to|for)\s+(?:the\s+|any\s+)?(?:AI|LLM|model|grader|assessor|reviewer|evaluator|scorer)s?\b",
    r"\b(?:AI|LLM|ChatGPT|GPT|grader|assessor|reviewer|evaluator|scorer)s?\b[,:]?\s+(?:please\s+)?(?:mark|score|rate|grade|give|award|pass|approve)\b",
    r"\b(?:mark|score|rate|grade|treat)\b.{0,40}\b(?:all|every|each)\b.{0,40}\b(?:evidenced|proficient|demonstrated|met|passed)\b",
    r"\bsystem\s*(?:prompt|message)\b|(?:^|\n)\s*SYSTEM\s*:",
    r"\b(?:full|maximum|perfect|top)\s+(?:marks|score|points|rating)\b",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _INSTRUCTION_PATTERNS), re.I)


@lru_cache(maxsize=16384)
def is_instruction(text: str) -> bool:
    """Text that addresses an AI or an assessor instead of describing the earner's work."""
    return bool(_INSTRUCTION.search(text))


def suspicious_instructions(sources: list[Source]) -> list[Problem]:
    problems = []
    for source in sources:
        for segment in source.segments:
            for a, b in sentence_spans(segment.text):
                sentence = segment.text[a:b]
                if is_instruction(sentence):
                    where = describe(segment.page, segment.paragraph, None, segment.start, segment.end)
                    problems.append(
                        Problem(
                            file=source.file, kind="suspicious_instructions", where=where,
                            message=f"text addresses an AI or an assessor and is never counted as evidence: {_short(sentence)!r}",
                        )
                    )
    return problems


def quarantine(sources: dict[str, Source]) -> dict[str, Source]:
    """The sources without text that addresses an AI or an assessor, for indexing and drafting.

    A paragraph or transcript cue that holds such a sentence goes whole (the rest of an injection, "every
    detail is demonstrated", goes with it); on a PDF page only the sentence goes, so the page's evidence
    stays. Segments stay, emptied, so pages and paragraph numbers keep their places. Quarantined text never
    reaches retrieval or a model, so it cannot change a finding.
    """
    return {sid: src.model_copy(update={"segments": [_without_instructions(s, src.kind) for s in src.segments]})
            for sid, src in sources.items()}


def _without_instructions(segment, kind: str):
    spans = [(a, b) for a, b in sentence_spans(segment.text) if is_instruction(segment.text[a:b])]
    if not spans:
        return segment
    if kind != "pdf":
        return segment.model_copy(update={"text": ""})
    text = segment.text
    for a, b in reversed(spans):
        text = text[:a] + text[b:]
    return segment.model_copy(update={"text": text.strip()})


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- self-analysis references

_KIND_FOR_LOCATOR = {"page": {"pdf"}, "paragraph": {"docx", "text"}, "section": {"docx", "text"}, "time": {"transcript"}}

PlaceRelevance = Callable[[Detail, list[Chunk]], bool]


class SelfAnalysisChecker:
    """Follows every self-analysis reference the way an assessor would, and says where one breaks."""

    def __init__(
        self,
        manifest: Manifest,
        sources: dict[str, Source],
        unreadable: dict[str, str],
        chunks: list[Chunk],
        relevant: PlaceRelevance,
    ):
        self.manifest = manifest
        self.sources = sources
        self.unreadable = unreadable  # artifact id -> why it could not be read
        self.chunks = chunks
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
        if words < MIN_EXPLANATION_WORDS:
            said = "is missing" if words == 0 else f"has only {words} words"
            issues.append(_issue(detail.id, "no_explanation", f"the explanation for {detail.id} {said}: say how the evidence shows the detail"))
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
            return issue("unknown_artifact", f"{detail.id} points to {ref.artifact}, which is not an artifact of this submission")
        if ref.artifact in self.unreadable:
            return issue("locator_unreadable", f"{detail.id} points to {ref.artifact}, which could not be read: {self.unreadable[ref.artifact]}")
        source = self.sources.get(ref.artifact)
        if source is None:
            return None  # a file whose problem is already reported under problems
        if not ref.locator:
            return issue("locator_unreadable", f"{detail.id} points to {ref.artifact} without saying where (page, paragraph or time)")
        try:
            locator = parse_locator(ref.locator)
        except ValueError as exc:
            return issue("locator_unreadable", f"{detail.id}: cannot follow locator {ref.locator!r}: {exc}")
        if source.kind not in _KIND_FOR_LOCATOR[locator.kind]:
            return issue("locator_unreadable", f"{detail.id}: a {locator.kind} locator ({ref.locator}) cannot point into a {source.kind} file ({source.file})")
        if problem := out_of_range(source, locator):
            return issue("locator_out_of_range", f"{detail.id}: {ref.artifact} {problem}")
        if not self.relevant(detail, chunks_at(self.chunks, source, locator)):
            return issue("evidence_not_at_locator", f"{detail.id}: {ref.artifact} at {ref.locator} does not appear to hold evidence for this detail")
        return None


def _issue(detail_id: str, kind: str, message: str, ref: EvidenceRef | None = None) -> SelfAnalysisIssue:
    return SelfAnalysisIssue(
        detail_id=detail_id, kind=kind, message=message,
        artifact_id=ref.artifact if ref else None, locator=ref.locator if ref else None,
    )


def out_of_range(source: Source, locator: Locator) -> str | None:
    """Why the locator points past the file, or None when the place exists."""
    if locator.kind == "page" and locator.last > (source.page_count or 0):
        return f"has {source.page_count} pages; the locator asks for page {int(locator.last)}"
    if locator.kind == "paragraph" and locator.last > source.paragraph_count:
        return f"has {source.paragraph_count} paragraphs; the locator asks for paragraph {int(locator.last)}"
    if locator.kind == "time" and locator.first > (source.duration or 0) + TIME_SLACK:
        return f"ends at {timestamp(source.duration or 0)}; the locator starts at {timestamp(locator.first)}"
    if locator.kind == "section" and not _section_matches(source, locator.section or ""):
        return f"has no heading {locator.section!r}"
    return None


def _section_matches(source: Source, wanted: str) -> list[int]:
    wanted = wanted.casefold().strip(" '\"")
    return [s.paragraph for s in source.segments if s.section and wanted in s.section.casefold() and s.paragraph]


def chunks_at(chunks: list[Chunk], source: Source, locator: Locator) -> list[Chunk]:
    """The chunks of a source that overlap the place a locator names."""
    mine = [c for c in chunks if c.source_id == source.id]
    if locator.kind == "page":
        return [c for c in mine if c.page is not None and locator.first <= c.page <= locator.last]
    if locator.kind == "time":
        low, high = locator.first - TIME_SLACK, locator.last + TIME_SLACK
        return [c for c in mine if c.start is not None and c.end is not None and c.end >= low and c.start <= high]
    wanted = _section_matches(source, locator.section or "") if locator.kind == "section" else None
    low, high = (min(wanted), max(wanted)) if wanted else (locator.first or 0, locator.last or 0)
    return [
        c for c in mine
        if c.paragraph_start is not None and c.paragraph_end is not None
        and c.paragraph_end >= low and c.paragraph_start <= high
    ]
