"""What each role is shown: the view models (pydantic) and the pure functions that build them.

Builders take a `mask`: the Snapshot's Masker for assessors, `unmasked` for the lead. Nothing here reads the
database or decides a rule.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, Field

from prescreen.locators import describe, parse_locators, place_in
from prescreen.models import Earner, EvidenceRef, Locator, Manifest, Segment, Source
from prescreen.report import Citation, DetailFinding, Readiness, Report
from prescreen.review import accounts
from prescreen.review.blind import Mask, Snapshot
from prescreen.review.db import User
from prescreen.review.errors import NotFound
from prescreen.review.rules import (
    DecisionAction,
    DecisionView,
    DraftStatus,
    Recommendation,
    Result,
    ResultSource,
    ScoreValue,
    ScoreView,
    State,
)
from prescreen.verify import clean_quote, region_text

CONTEXT_CHARS = 300
STRETCH_SECONDS = 60.0  # a transcript's cited stretch: the cues this far either side of the cited span
# the names code written before DecisionView and ScoreView still imports
DecisionTuple = DecisionView
ScoreTuple = ScoreView


# ---------------------------------------------------------------- view models


class UserView(BaseModel):
    username: str
    role: accounts.Role
    display_name: str = ""


class SubmissionView(BaseModel):
    """A submission as the lead sees it in lists and after an action. Never the earner's identity."""

    id: int
    label: str = Field(description='"S-2026-0101 · attempt 1": never the earner\'s name.')
    code: str = Field(description="The manifest's submission_id.")
    credential: str
    attempt: int
    state: State
    readiness: Readiness
    incomplete: bool = Field(description="The pre-check failed: it can be returned to the earner.")
    incomplete_reasons: list[str]
    assigned_to: list[str]
    previous: int | None = Field(None, description="The submission of the previous attempt, when linked.")
    screening_runs: int = Field(description="How many times it was screened (each run is kept).")
    returned_reason: str | None = None
    created_at: datetime


class QueueItem(BaseModel):
    submission: int
    label: str
    credential: str
    readiness: Readiness
    incomplete: bool
    incomplete_reasons: list[str]
    state: State = Field(description="The submission's place in the workflow.")
    age_days: float
    assigned_to: list[str] = Field(default_factory=list, description="Lead only; always empty for assessors.")
    my_progress: str


class CitationView(BaseModel):
    artifact_id: str
    title: str
    where: str = Field(description='"p. 3", "para. 12", "00:04:10-00:05:00".')
    quote: str
    context_before: str = Field("", description="Masked text before the quote in the cited place (~300 chars).")
    context_after: str = Field("", description="Masked text after the quote in the cited place (~300 chars).")


class PlaceView(BaseModel):
    """The whole place a citation points to (a page, a paragraph, a stretch of a transcript), masked as everything
    an assessor reads, with the quote's span in it."""

    detail_id: str
    index: int = Field(description="The citation's position among the detail's citations (0-based).")
    artifact_id: str
    title: str
    where: str = Field(description='"p. 3", "para. 12", "00:04:10-00:05:00".')
    kind: str = Field(description="page, paragraph or transcript stretch.")
    text: str = Field(description="The place's whole text, masked.")
    quote_start: int = Field(description="Where the quote starts in `text` (equal to quote_end: not found).")
    quote_end: int

    @property
    def parts(self) -> tuple[str, str, str]:
        """(before, quote, after)."""
        return self.text[:self.quote_start], self.text[self.quote_start:self.quote_end], self.text[self.quote_end:]


class SourcePlace(BaseModel):
    """One place of a source as a reader addresses it: a PDF page, a numbered paragraph, a transcript cue."""

    where: str = Field(description='"p. 3", "para. 12", "00:04:10-00:04:18".')
    section: str = Field("", description="The heading the paragraph stands under, masked.")
    text: str = Field(description="The place's text, masked.")


class SourceView(BaseModel):
    """A whole artifact or part, masked as everything an assessor reads, split by its places."""

    artifact_id: str
    title: str
    kind: str
    role: str
    places: list[SourcePlace]
    focus: list[int] = Field(default_factory=list,
                             description="The places the requested locator names (empty: the whole file).")
    notes: list[str] = Field(default_factory=list,
                             description="What the reader should know: a place not found, pages with no text.")


class SelfAnalysisView(BaseModel):
    artifact_id: str | None
    locator: str | None
    explanation: str


class DetailView(BaseModel):
    detail_id: str
    outcome_id: str
    text: str
    drafted_status: DraftStatus | None = Field(description="None when the anchoring check hid the AI draft.")
    confidence: float | None = Field(description="None when the anchoring check hid the AI draft.")
    rationale: str
    citations: list[CitationView]
    self_analysis: list[SelfAnalysisView]
    issues: list[str]
    decision: DecisionView | None = Field(None, description="Yours: confirmed or overridden.")
    score: ScoreView | None = Field(None, description="Yours, with your feedback.")
    drafted_by: str = Field("extractive", description="Who drafted the finding: `llm:<model>` or `extractive`.")
    fallback_reason: str | None = Field(None, description="Why the extractive drafter stood in for the LLM.")


class ArtifactView(BaseModel):
    """Added: the files that could be read, for listing them."""

    artifact_id: str
    title: str
    kind: str
    role: str


class PreviousDetail(BaseModel):
    detail_id: str
    feedback: str


class PreviousAttempt(BaseModel):
    submission: int
    attempt: int
    result: str | None = Field(description="Its final result, or None when it had none (returned).")
    not_yet: list[PreviousDetail] = Field(description="Details scored not_yet last time, with the feedback given.")
    previous_drafted_status: dict[str, str]
    drafted_status_changed: dict[str, bool]


class FinalResultView(BaseModel):
    result: Result
    per_detail: dict[str, ScoreView] = Field(description="detail -> its score and the feedback for the earner")
    decided_by: str
    decided_at: datetime
    source: ResultSource


class AssessorView(BaseModel):
    submission: int
    label: str
    credential: str
    rubric_title: str
    attempt: int
    state: State = Field(description="The submission's place in the workflow.")
    submitted: bool
    details: list[DetailView]
    flags: list[str]
    previous_attempt: PreviousAttempt | None = None
    recommendation: Recommendation | None = None
    comment: str = ""
    artifacts: list[ArtifactView] = Field(default_factory=list)
    draft_hidden: bool = Field(False, description="The anchoring check: no AI draft is shown, no decision needed.")


class AssessorStatus(BaseModel):
    username: str
    display_name: str
    submitted: bool
    submitted_at: datetime | None
    recommendation: Recommendation | None
    decided: int
    scored: int


class AssessorWork(BaseModel):
    """One assessor's decision and score on one detail, as the lead reads them when adjudicating."""

    assessor: str = Field(description="The assessor's username: the lead sees who did what.")
    action: DecisionAction | None = None
    new_status: DraftStatus | None = Field(None, description="The status an override gave the finding.")
    reason: str = Field("", description="Why the assessor overrode the drafted finding.")
    score: ScoreValue | None = None
    feedback: str = ""


class AdjudicationItem(BaseModel):
    """A disputed detail with what the lead needs to settle it: the detail, the drafted finding with its
    citations, both assessors' work, and the lead's own score once given."""

    detail_id: str
    detail_text: str
    drafted: DetailView
    assessors: list[AssessorWork]
    lead_score: ScoreValue | None = None
    lead_feedback: str = ""


class LeadView(AssessorView):
    """Everything, unmasked: the lead also sees the earner and, once both submitted, both assessors' work.

    Inherited fields read for the lead: `submitted` is true when both assessors have submitted; `details`
    carry no decision or score of the lead's own (see `assessor_decisions`, `assessor_scores`).
    """

    earner: Earner | None = None
    incomplete_reasons: list[str] = Field(default_factory=list)
    returned_reason: str | None = None
    assessors: list[AssessorStatus] = Field(default_factory=list)
    assessor_scores: dict[str, dict[str, ScoreView]] = Field(default_factory=dict, description="assessor -> detail")
    assessor_decisions: dict[str, dict[str, DecisionView]] = Field(default_factory=dict,
                                                                   description="assessor -> detail")
    disputed: list[str] = Field(default_factory=list)
    adjudications: dict[str, ScoreView] = Field(default_factory=dict, description="detail -> the lead's score")
    adjudication: list[AdjudicationItem] = Field(
        default_factory=list, description="Each disputed detail with its evidence and both assessors' work.")
    final: FinalResultView | None = None


class AuditEntry(BaseModel):
    at: datetime
    actor: str
    action: str
    submission: int | None
    detail: str | None
    note: str = ""


# ---------------------------------------------------------------- building views


def locate(text: str, quote: str) -> tuple[int, int] | None:
    """Where the quote is in the text: exactly, or word for word ignoring case, spacing and punctuation."""
    quote = clean_quote(quote)
    start = text.find(quote) if quote else -1
    if start >= 0:
        return start, start + len(quote)
    words = re.findall(r"\w+", quote)
    found = re.search(r"\W+".join(map(re.escape, words)), text, re.IGNORECASE) if words else None
    return found.span() if found else None


def around(text: str, quote: str, width: int = CONTEXT_CHARS) -> tuple[str, str, str]:
    """(before, quote as found, after): about `width` characters each side, cut at white space."""
    span = locate(text, quote)
    if span is None:
        return "", quote, ""
    i, j = span
    a, b = max(0, i - width), min(len(text), j + width)
    if a > 0:
        space = re.compile(r"\s").search(text, a, i)
        a = space.end() if space else i
    if b < len(text):
        b = max(j, text.rfind(" ", j, b), text.rfind("\n", j, b))
    return text[a:i], text[i:j], text[j:b]


def citation_view(sources: dict[str, Source], citation: Citation, mask: Mask) -> CitationView:
    source = sources.get(citation.artifact_id)
    region = (region_text(source, citation) if source else None) or ""
    before, quote, after = around(region, citation.quote)
    return CitationView(
        artifact_id=citation.artifact_id, title=mask(source.title if source else ""),
        where=citation.where,
        quote=mask(quote), context_before=mask(before), context_after=mask(after),
    )


def place_text(source: Source, citation: Citation) -> str:
    """The cited page or paragraph whole; for a transcript, its cues from STRETCH_SECONDS before the cited span
    to STRETCH_SECONDS after it, one per line."""
    if source.kind != "transcript" or citation.start is None:
        return region_text(source, citation) or ""
    first, last = citation.start - STRETCH_SECONDS, (citation.end or citation.start) + STRETCH_SECONDS
    return "\n".join(s.text for s in source.segments
                     if s.start is not None and s.end is not None and s.end >= first and s.start <= last)


def place_view(snap: Snapshot, detail_id: str, index: int, mask: Mask) -> PlaceView:
    """The `index`-th citation of `detail_id`, its whole place masked piece by piece (so the quote's span holds)."""
    citations = snap.finding(detail_id).citations
    if not 0 <= index < len(citations):
        raise NotFound(f"{detail_id} has {len(citations)} cited passage(s): there is no passage {index + 1}")
    citation = citations[index]
    source = snap.sources.get(citation.artifact_id)
    text = place_text(source, citation) if source else ""
    span = locate(text, citation.quote)
    i, j = span or (len(text), len(text))
    before, quote, after = mask(text[:i]), mask(text[i:j]), mask(text[j:])
    kind = ("transcript stretch" if source and source.kind == "transcript"
            else "page" if citation.page is not None else "paragraph")
    return PlaceView(detail_id=detail_id, index=index, artifact_id=citation.artifact_id,
                     title=mask(source.title if source else ""), where=citation.where, kind=kind,
                     text=before + quote + after, quote_start=len(before), quote_end=len(before) + len(quote))


def source_places(source: Source) -> list[tuple[Segment, str]]:
    """(the place's first segment, its whole text) for each page, paragraph or cue, in reading order; a PDF
    page's (or a paragraph's) segments joined."""
    places: dict[tuple, tuple[Segment, list[str]]] = {}
    for segment in source.segments:
        key = (segment.page, segment.paragraph, segment.start, segment.end)
        places.setdefault(key, (segment, []))[1].append(segment.text)
    return [(first, "\n".join(texts)) for first, texts in places.values()]


def focused(places: list[tuple[Segment, str]], locator: str) -> tuple[list[int], list[str]]:
    """The places a locator (as an earner writes it, or a `where`) names, and a note when it names none."""
    try:
        wanted = parse_locators(locator)
    except ValueError as exc:
        return [], [str(exc)]
    hits = [i for i, (segment, _) in enumerate(places)
            if any(section_of(w, segment) if w.kind == "section" else place_in(w, segment) for w in wanted)]
    return hits, [] if hits else [f"{locator!r} is not a place of this file: its whole text is shown"]


def section_of(wanted: Locator, segment: Segment) -> bool:
    return bool(wanted.section and segment.section and wanted.section.lower() in segment.section.lower())


def source_view(source: Source, mask: Mask, place: str | None = None) -> SourceView:
    """The source's text place by place, each masked; `place` (e.g. "p. 3", "para 12", "4:10") picks the focus."""
    places = source_places(source)
    focus, notes = focused(places, place) if place and place.strip() else ([], [])
    notes += [f"p. {page}: a scanned page, its text is unknown" for page in source.blank_pages]
    notes += [mask(note) for note in source.unread]
    return SourceView(
        artifact_id=source.id, title=mask(source.title), kind=source.kind, role=source.role, focus=focus,
        places=[SourcePlace(where=describe(s.page, s.paragraph, None, s.start, s.end), section=mask(s.section),
                            text=mask(text)) for s, text in places],
        notes=notes,
    )


def self_analysis_views(manifest: Manifest | None, detail_id: str, mask: Mask) -> list[SelfAnalysisView]:
    views = []
    for entry in (e for e in manifest.self_analysis if e.detail == detail_id) if manifest else []:
        refs: list[EvidenceRef | None] = [*entry.evidence] or [None]
        for ref in refs:
            views.append(SelfAnalysisView(
                artifact_id=ref.artifact if ref else None, locator=mask(ref.locator) if ref and ref.locator else None,
                explanation=mask(entry.explanation),
            ))
    return views


def detail_view(snap: Snapshot, finding: DetailFinding, mask: Mask, decision: DecisionView | None,
                score: ScoreView | None) -> DetailView:
    return DetailView(
        detail_id=finding.detail_id, outcome_id=finding.outcome_id or "", text=snap.detail_text(finding.detail_id),
        drafted_status=finding.status, confidence=finding.confidence, rationale=mask(finding.rationale),
        citations=[citation_view(snap.sources, c, mask) for c in finding.citations],
        self_analysis=self_analysis_views(snap.manifest, finding.detail_id, mask),
        issues=[mask(i.message) for i in snap.report.self_analysis_issues if i.detail_id == finding.detail_id],
        decision=decision, score=score, drafted_by=finding.drafted_by, fallback_reason=finding.fallback_reason,
    )


def adjudication_items(details: list[DetailView], disputed: list[str], decisions: dict[str, dict[str, DecisionView]],
                       scores: dict[str, dict[str, ScoreView]],
                       adjudications: dict[str, ScoreView]) -> list[AdjudicationItem]:
    """Each disputed detail with its drafted finding and both assessors' decisions and scores (by username)."""
    items = []
    for detail in (d for d in details if d.detail_id in disputed):
        lead = adjudications.get(detail.detail_id)
        work = [assessor_work(name, decisions[name].get(detail.detail_id), scores[name].get(detail.detail_id))
                for name in scores]
        items.append(AdjudicationItem(detail_id=detail.detail_id, detail_text=detail.text, drafted=detail,
                                      assessors=work, lead_score=lead.score if lead else None,
                                      lead_feedback=lead.feedback if lead else ""))
    return items


def assessor_work(name: str, decision: DecisionView | None, score: ScoreView | None) -> AssessorWork:
    return AssessorWork(assessor=name, action=decision.action if decision else None,
                        new_status=decision.new_status if decision else None,
                        reason=decision.reason if decision else "", score=score.score if score else None,
                        feedback=score.feedback if score else "")


def flags(report: Report, mask: Mask) -> list[str]:
    """Word-count shortfalls, self-analysis issues, file problems and manifest issues, one line each."""
    out = [f"Unscreenable: {report.message}"] if report.readiness == "unscreenable" else []
    out += [f"Word count: {p.part_id} has {p.word_count} words, below its minimum of {p.minimum}"
            for p in report.parts if p.shortfall]
    out += [f"Self-analysis {i.detail_id}: {i.message}" for i in report.self_analysis_issues]
    out += [f"File {p.file}{f' ({p.where})' if p.where else ''}: {p.kind.replace('_', ' ')}: {p.message}"
            for p in report.problems]
    out += [f"Manifest {i.location}: {i.message}" for i in report.manifest_issues]
    return [mask(line) for line in out]



def user_view(user: User) -> UserView:
    return UserView(username=user.username, role=user.role, display_name=user.display_name)
