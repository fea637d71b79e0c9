"""screen(): one submission through the whole pipeline, top to bottom.

bundle -> text with provenance -> deterministic checks -> chunks -> index -> evidence per detail
       -> draft -> verify -> report
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings
from pydantic import ValidationError

from prescreen import checks
from prescreen.budgets import Content, SubmissionBudget
from prescreen.bundle import Bundle, open_bundle, resolve_member
from prescreen.cachefile import read_json, write_json
from prescreen.chunking import chunk_sources
from prescreen.drafting import Draft, Drafter, ExtractiveDrafter, Sentence, candidate_sentences
from prescreen.errors import BundleError, ExtractionError, RubricError
from prescreen.evidence_model import EvidenceModel
from prescreen.index import EvidenceIndex, IndexStats
from prescreen.locators import parse_locators, place_in
from prescreen.models import Chunk, Detail, EvidenceRef, Locator, Manifest, ManifestIssue, Rubric, Source
from prescreen.report import DetailFinding, LLMUsage, PartResult, Problem, Report, SelfAnalysisIssue
from prescreen.retrieve import Candidate, Retriever, detail_query
from prescreen.rubrics import RubricLibrary
from prescreen.sandbox import extract_in_worker
from prescreen.settings import Settings
from prescreen.verify import verify_findings

EXTRACTOR_VERSION = "2"  # 2: the revised spec's paragraph numbering, Markdown by markdown-it-py, Word comments
# A pointed place holds nothing relevant when its best sentence scores under PLACE_RELEVANT_AT, or under
# PLACE_MISSED_UNDER while the same file holds a sentence scoring EVIDENCE_ELSEWHERE_AT or more (all tuned on dev).
PLACE_RELEVANT_AT, PLACE_MISSED_UNDER, EVIDENCE_ELSEWHERE_AT = 0.08, 0.4, 0.8

Progress = Callable[[str], None]


@dataclass
class Screening:
    """The report, and what the review interface needs to show the evidence behind it."""

    report: Report
    bundle: Bundle | None = None
    rubric: Rubric | None = None
    sources: dict[str, Source] = field(default_factory=dict)
    chunks: list[Chunk] = field(default_factory=list)
    evidence: dict[str, list[Candidate]] = field(default_factory=dict)
    index_stats: IndexStats = field(default_factory=IndexStats)


class Screener:
    """Screens bundles. The embedder, the index and the drafter are passed in; defaults come from settings."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embeddings | None = None,
        index: EvidenceIndex | None = None,
        drafter: Drafter | None = None,
        rubrics: RubricLibrary | None = None,
        evidence_model: EvidenceModel | None = None,
    ):
        from prescreen.embeddings import make_embedder

        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        self.index = index or EvidenceIndex.from_settings(settings, self.embedder)
        self.evidence_model = evidence_model or EvidenceModel.for_settings(settings)
        self.drafter = drafter or ExtractiveDrafter(self.evidence_model)
        self.rubrics = rubrics or RubricLibrary(settings.rubrics_dir)

    def screen(self, path: Path, progress: Progress = lambda step: None) -> Screening:
        progress("opening the bundle")
        try:
            bundle = open_bundle(path, self._workdir(), self.settings.limits)
        except BundleError as exc:
            return Screening(report=self.unscreenable(path, exc))
        with bundle:  # a zip's unpacked folder is removed when the screen ends, however it ends
            try:
                rubric = self.rubrics.get(bundle.manifest.credential)
            except RubricError as exc:
                return Screening(report=self.unscreenable(path, exc))
            return _Run(self, bundle, rubric, progress).run()

    def replay(self, manifest: Manifest, rubric: Rubric, sources: dict[str, Source]) -> Screening:
        """The candidate evidence for text already extracted (a stored review run's), without its files:
        what `prescreen train` reads to learn from assessors' decisions."""
        run = _Run(self, Bundle(root=Path("."), origin="replay", manifest=manifest), rubric, lambda step: None)
        run.sources = sources
        chunks, stats, evidence = run.gather(checks.quarantine(sources))
        report = Report(submission_id=manifest.submission_id, credential=rubric.id, rubric_version=rubric.version,
                        drafter="replay", readiness="not_ready")
        return Screening(report, None, rubric, sources, chunks, evidence, stats)

    def unscreenable(self, path: Path, exc: Exception) -> Report:
        return Report(
            submission_id=path.stem, credential="", rubric_version="", drafter=self.drafter.name,
            readiness="unscreenable", message=str(exc),
        )

    def _workdir(self) -> Path:
        workdir = self.settings.data_dir / "work"
        workdir.mkdir(parents=True, exist_ok=True)
        return workdir


@dataclass
class _Vectors:
    details: dict[str, list[float]]
    chunks: dict[str, list[float]]

    def similarity(self, detail: Detail, chunk: Chunk) -> float:
        return cosine(self.details[detail.id], self.chunks.get(chunk.id))


class _Run:
    """One screening of one bundle; each method is one step of the pipeline."""

    def __init__(self, screener: Screener, bundle: Bundle, rubric: Rubric, progress: Progress):
        self.s = screener
        self.bundle = bundle
        self.manifest = bundle.manifest
        self.rubric = rubric
        self.progress = progress
        self.problems: list[Problem] = []
        self.sources: dict[str, Source] = {}

    def run(self) -> Screening:
        issues = self.manifest.issues + rubric_issues(self.rubric, self.manifest)
        self.progress("reading the files")
        sources = self.sources = self.extract_all()
        parts = checks.part_results(self.rubric, self.manifest, self.part_texts(sources))
        self.problems += checks.suspicious_instructions(list(sources.values()))
        self.problems += checks.suspicious_manifest_text(self.manifest)
        evidence_text = checks.quarantine(sources)  # what retrieval and the drafters read
        chunks, stats, evidence = self.gather(evidence_text)
        self.progress("drafting findings")
        draft = self.s.drafter.draft(self.rubric, evidence, evidence_text)
        sa_issues, reading = self.check_self_analysis(chunks, evidence, spent=_tokens(draft.usage))
        findings = verify_findings(draft.findings, sources)  # quotes checked against the files as they are
        usage, notes = self.with_reading(draft, reading)
        report = self.report(parts, findings, sa_issues, issues).model_copy(
            update={"llm_usage": usage, "drafter_notes": notes, "prompt_version": draft.prompt_version}
        )
        return Screening(report, self.bundle, self.rubric, sources, chunks, evidence, stats)

    def gather(self, evidence_text: dict[str, Source]) -> tuple[list[Chunk], IndexStats, dict[str, list[Candidate]]]:
        """Chunks, indexed, and each detail's candidate evidence."""
        self.progress("indexing")
        chunks = chunk_sources(list(evidence_text.values()), self.manifest.submission_id, self.s.settings.chunking)
        stats = self.s.index.add(self.manifest.submission_id, chunks)
        self.progress("retrieving evidence")
        return chunks, stats, self.retrieve(chunks, self.vectors(chunks))

    def vectors(self, chunks: list[Chunk]) -> _Vectors:
        """Query vectors per detail (cached in the index) and the chunks' stored vectors, fetched once."""
        queries = self.s.index.embed_queries([detail_query(d) for d in self.rubric.details])
        return _Vectors(
            details=dict(zip((d.id for d in self.rubric.details), queries, strict=True)),
            chunks=self.s.index.vectors([c.id for c in chunks]),
        )

    # -- text with provenance

    def extract_all(self) -> dict[str, Source]:
        wanted = [(a.id, a.file, a.title, "artifact") for a in self.manifest.artifacts]
        wanted += [(pid, file, pid, "part") for pid, file in self.manifest.parts.items()]
        sources = {}
        for source_id, relpath, title, role in wanted:
            try:
                sources[source_id] = self.extract(relpath, source_id, title, role)
            except ExtractionError as exc:
                self.problems.append(Problem(file=relpath, kind=exc.kind, message=str(exc)))
                continue
            self.problems += partial_problems(relpath, sources[source_id])
        return sources

    def extract(self, relpath: str, source_id: str, title: str, role: str) -> Source:
        """One file as text, within the submission's budgets; artifacts that name the same file share one read."""
        self.budget.admit(relpath, role)
        content = self.budget.once(_file_key(self.bundle.root, relpath), lambda: self.read_file(relpath))
        self.budget.charge(content, role)
        return Source.model_validate({**content, "id": source_id, "title": title, "role": role, "file": relpath})

    def read_file(self, relpath: str) -> Content:
        """The file's content fields, from the cache (by content hash) or from a worker with a time limit."""
        limits = self.s.settings.limits
        cache = _cache_path(self.s.settings.data_dir, self.bundle.root, relpath, limits.max_file_mb)
        if (cached := read_json(cache)) is not None and _valid_content(cached):
            return cached
        source = extract_in_worker(self.bundle.root, relpath, source_id="-", title="", role="artifact", limits=limits)
        content = source.model_dump(mode="json", exclude=set(_IDENTITY))
        write_json(cache, content)
        return content

    @cached_property
    def budget(self) -> SubmissionBudget:
        return SubmissionBudget(self.s.settings.limits)

    def part_texts(self, sources: dict[str, Source]) -> dict[str, str | None]:
        return {pid: checks.part_text(self.bundle.root, sources.get(pid)) for pid in self.manifest.parts}

    # -- evidence per detail

    def retrieve(self, chunks: list[Chunk], vectors: _Vectors) -> dict[str, list[Candidate]]:
        """Each detail's fused top chunks, plus the chunks at the places the earner points to (marked)."""
        retriever = Retriever(self.manifest.submission_id, chunks, self.s.index, self.s.settings.retrieval)
        by_id = {c.id: c for c in chunks}
        evidence = {}
        for detail in self.rubric.details:
            found = {c.chunk.id: c for c in retriever.candidates(detail, vectors.details[detail.id])}
            for chunk_id, places in self.pointers(detail, chunks).items():
                chunk = by_id[chunk_id]
                candidate = found.get(chunk_id) or Candidate(chunk=chunk, similarity=vectors.similarity(detail, chunk))
                found[chunk_id] = candidate.model_copy(update={"pointed_by_earner": True, "pointed": places})
            evidence[detail.id] = list(found.values())
        return evidence

    def pointers(self, detail: Detail, chunks: list[Chunk]) -> dict[str, list[Locator]]:
        """Chunk id -> the earner's page, paragraph or time locators for this detail that point into it."""
        out: dict[str, list[Locator]] = {}
        for entry in (e for e in self.manifest.self_analysis if e.detail == detail.id):
            for ref in entry.evidence:
                source = self.sources.get(ref.artifact)
                if source is None:
                    continue
                try:
                    places = parse_locators(ref.locator or "")
                except ValueError:
                    continue
                for place in (p for loc in places for p in checks.exact_places(source, loc)):
                    for chunk in checks.chunks_at(chunks, source, place):
                        out.setdefault(chunk.id, []).append(place)
        return out

    def check_self_analysis(self, chunks: list[Chunk], evidence: dict[str, list[Candidate]], spent: int = 0
                            ) -> tuple[list[SelfAnalysisIssue], checks.PlaceReading | None]:
        """Every reference followed. A pointed place is judged by the sentence model; when the drafter can read
        places (an LLM), by what the model read there, the sentence model standing in for any it could not. The
        reading may spend what drafting (`spent` tokens) left of the submission's token budget."""
        places = _PointedPlaces(self, chunks, evidence)
        checker = checks.SelfAnalysisChecker(self.manifest, self.sources, places.verdict)
        issues = checker.check(self.rubric)
        drafter = self.s.drafter
        if not isinstance(drafter, checks.PlaceReader) or not drafter.reads_places or not places.questions:
            return issues, None
        self.progress("reading the places the self-analysis points to")
        places.reading = drafter.read_places(places.questions, spent=spent)
        return checker.check(self.rubric), places.reading

    def with_reading(self, draft: Draft, reading: checks.PlaceReading | None) -> tuple[LLMUsage | None, list[str]]:
        """The drafting's usage and notes, with the place reading's calls and notes added."""
        if reading is None:
            return draft.usage, draft.notes
        usage = (draft.usage or LLMUsage()).model_copy(deep=True)
        for call in reading.calls:
            usage.add(call)
        usage.cost_usd = self.s.settings.llm.cost(usage.prompt_tokens, usage.completion_tokens)
        return usage, [*draft.notes, *reading.notes]

    # -- report

    def report(self, parts: list[PartResult], findings: list[DetailFinding], sa_issues, issues) -> Report:
        ready = (
            not any(p.shortfall for p in parts)
            and all(f.status == "evidenced" for f in findings)
            and not sa_issues and not self.problems and not issues
        )
        return Report(
            submission_id=self.manifest.submission_id, credential=self.rubric.id,
            rubric_version=self.rubric.version, rubric_title=self.rubric.title, attempt=self.manifest.attempt,
            drafter=self.s.drafter.name, readiness="ready" if ready else "not_ready",
            parts=parts, details=findings, self_analysis_issues=sa_issues, problems=self.problems,
            citations_dropped=sum(f.citations_dropped for f in findings), manifest_issues=issues,
        )


class _PointedPlaces:
    """What each place a self-analysis points to holds for its detail. The sentence model's judgment: nothing
    relevant when the place's best sentence scores very low, or low while the same file holds strong evidence
    for the detail elsewhere (a slide off by one, a paragraph count without headings). A model's reading, once
    there is one, decides instead: only a place it read as holding nothing is flagged."""

    def __init__(self, run: _Run, chunks: list[Chunk], evidence: dict[str, list[Candidate]]):
        self.run, self.chunks, self.evidence = run, chunks, evidence
        self.by_id = {c.id: c for c in chunks}
        self.questions: list[checks.PlaceQuestion] = []
        self.asked: dict[tuple[str, str, str], int] = {}  # a pointer -> its question's index
        self.judged: dict[tuple[str, str, str], checks.PlaceVerdict] = {}  # ... and the sentence model's verdict
        self.reading: checks.PlaceReading | None = None

    def verdict(self, detail: Detail, source: Source, places: list[Locator], ref: EvidenceRef) -> checks.PlaceVerdict:
        key = (detail.id, ref.artifact, ref.locator or "")
        if key not in self.judged:  # the first pass: the sentence model judges, and the question is kept
            inside = [s for s in candidate_sentences(detail, self._at(detail, source, places), self.run.sources)
                      if s.at_pointer]
            self.asked[key] = len(self.questions)
            self.questions.append(checks.PlaceQuestion(detail=detail, artifact_id=ref.artifact, locator=key[2],
                                                       sentences=[s.citation.quote for s in inside]))
            self.judged[key] = self._judged(detail, source, places, inside)
        held = self.reading.holds.get(self.asked[key]) if self.reading else None
        if self.reading is None or held is None:
            return self.judged[key]
        if held != "nothing":
            return checks.PlaceVerdict(relevant=True)
        return checks.PlaceVerdict(relevant=False, evidence_at=self._elsewhere(detail, source, places)[1],
                                   read_by=self.reading.read_by)

    def _judged(self, detail: Detail, source: Source, places: list[Locator], inside: list[Sentence]
                ) -> checks.PlaceVerdict:
        """The sentence model's verdict on a place, from its sentences."""
        best, _ = self._best(detail, inside)
        if best >= PLACE_MISSED_UNDER:
            return checks.PlaceVerdict(relevant=True)
        score, strong = self._elsewhere(detail, source, places)
        if best >= PLACE_RELEVANT_AT and strong is None:
            return checks.PlaceVerdict(relevant=True)
        return checks.PlaceVerdict(relevant=False, evidence_at=strong)

    def _at(self, detail: Detail, source: Source, places: list[Locator]) -> list[Candidate]:
        """The chunks at the places, in reading order, as candidates of the detail, pointed to."""
        known = {c.chunk.id: c for c in self.evidence.get(detail.id, [])}
        at = dict.fromkeys(c.id for p in places for c in checks.chunks_at(self.chunks, source, p))
        return [(known.get(i) or Candidate(chunk=self.by_id[i])).model_copy(update={"pointed": places}) for i in at]

    def _elsewhere(self, detail: Detail, source: Source, places: list[Locator]) -> tuple[float, str | None]:
        """The best score of the detail's candidate sentences in the same file outside the places, and where
        that sentence is when it is strong evidence."""
        elsewhere = [s for s in candidate_sentences(detail, self.evidence.get(detail.id, []), self.run.sources)
                     if s.citation.artifact_id == source.id and not any(place_in(p, s.citation) for p in places)]
        score, there = self._best(detail, elsewhere)
        return score, there.citation.where if there is not None and score >= EVIDENCE_ELSEWHERE_AT else None

    def _best(self, detail: Detail, sentences: list[Sentence]) -> tuple[float, Sentence | None]:
        """The best score the sentence model gives any of `sentences`, and that sentence."""
        scores = self.run.s.evidence_model.score_sentences(detail, [s.input for s in sentences])
        return max(zip(scores, sentences, strict=True), key=lambda pair: pair[0], default=(0.0, None))


def _tokens(usage: LLMUsage | None) -> int:
    return usage.prompt_tokens + usage.completion_tokens if usage else 0


def partial_problems(relpath: str, source: Source) -> list[Problem]:
    """The places of a readable file that could not be read: scanned pages, cues with impossible times."""
    problems = [
        Problem(file=relpath, kind="unreadable", where=where,
                message=f"a cue has an impossible time ({where}), so its words are left out: "
                        "fix the time and export again")
        for where in source.unread
    ]
    return problems + [
        Problem(file=relpath, kind="no_text", where=f"p. {page}",
                message=f"page {page} has no text layer (scanned?): run OCR so its evidence can be read")
        for page in source.blank_pages
    ]


def rubric_issues(rubric: Rubric, manifest) -> list[ManifestIssue]:
    """Manifest entries that name parts or details the rubric does not have."""
    part_ids = {p.id for p in rubric.text_parts}
    detail_ids = {d.id for d in rubric.details}
    issues = [
        ManifestIssue(location=f"parts.{key}",
                      message=f"{rubric.id} has no text part {key!r} (it has: {', '.join(sorted(part_ids))})")
        for key in manifest.parts if key not in part_ids
    ]
    issues += [
        ManifestIssue(location=f"parts.{pid}", message=f"part {pid!r} is missing: the rubric requires it")
        for pid in sorted(part_ids - manifest.parts.keys())
    ]
    issues += [
        ManifestIssue(location=f"self_analysis[{i}].detail", message=f"{entry.detail!r} is not a detail of {rubric.id}")
        for i, entry in enumerate(manifest.self_analysis) if entry.detail not in detail_ids
    ]
    return issues


def cosine(a: list[float] | None, b: list[float] | None) -> float:
    if a is None or b is None:
        return 0.0
    va, vb = np.asarray(a), np.asarray(b)
    norm = float(np.linalg.norm(va) * np.linalg.norm(vb))
    return float(va @ vb / norm) if norm else 0.0


def _cache_path(data_dir: Path, root: Path, relpath: str, max_mb: float) -> Path | None:
    """Where the extraction of this file's bytes is cached; None when the file cannot or should not be hashed."""
    try:
        path = resolve_member(root, relpath)
        if not path.is_file() or path.stat().st_size > max_mb * 1024 * 1024:
            return None
        with path.open("rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
    except (OSError, BundleError):
        return None
    return data_dir / "extract-cache" / f"{digest}-{path.suffix.lower().lstrip('.')}-v{EXTRACTOR_VERSION}.json"


_IDENTITY = ("id", "title", "role", "file")


def _file_key(root: Path, relpath: str) -> Path | None:
    """The file a path names, resolved, so two spellings of one file are read once; None when it cannot be."""
    try:
        return resolve_member(root, relpath).resolve()
    except (BundleError, OSError):
        return None


def _valid_content(content: Content) -> bool:
    """A cache entry that makes a Source (an older format or a hand edit may not): anything else is a miss."""
    try:
        Source.model_validate({**content, "id": "-", "title": "", "role": "artifact", "file": "-"})
    except ValidationError:
        return False
    return True
