"""The self-check: the pipeline's report, unchanged, in the earner's words.

Per detail, what was found and where, and what is missing, each with a fix: "Your pointer p. 7: this file has
5 pages.", "EO2.3 is only described in your narrative. Point to an artifact that shows it.", "The reflection is
58 words short.", "scanned-signin.pdf has no text. Upload a text PDF or a photo-free export."

It is a pre-check, not an assessment: no score, no confidence, no readiness and no prediction of the outcome.
What breaks the submission for an assessor (a part under its minimum, a broken pointer, an unreadable file, a
missing self-analysis entry, text addressed to an AI) is `must_fix`; what is a judgment of the evidence is advice.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, Field

from prescreen.checks import out_of_range
from prescreen.locators import parse_locators, timestamp
from prescreen.models import Detail, Manifest, Rubric, Source
from prescreen.pipeline import Screening
from prescreen.report import Citation, DetailFinding, ManifestIssue, PartResult, Problem, Report, SelfAnalysisIssue

PRECHECK = (
    "Pre-check, not an assessment. prescreen looked for what assessors need to find: every part at its length, "
    "every file readable, every detail with a pointer that leads somewhere, and evidence at the places you point "
    "to. It gives no score and does not predict the outcome: assessors decide that."
)
NoteKind = Literal[
    "word_shortfall", "file_problem", "manifest", "no_entry", "unknown_artifact", "pointer_out_of_range",
    "pointer_unclear", "no_explanation", "not_at_pointer", "narrative_only", "thin_evidence", "not_found",
]


class Note(BaseModel):
    """One thing the earner should know: what was found, and how to fix it."""

    kind: NoteKind
    must_fix: bool = Field(description="True: an assessor cannot follow the submission until it is fixed. "
                                       "False: advice about the evidence.")
    says: str = Field(description="What was found, as one sentence.")
    fix: str = Field(description="What to do about it, as one sentence.")

    @property
    def text(self) -> str:
        return f"{self.says} {self.fix}"


class Found(BaseModel):
    """A place that holds evidence for the detail, with the words found there (checked against the file)."""

    artifact_id: str
    title: str = Field(description="The artifact's title, or `your overview` for a part.")
    where: str
    quote: str
    in_part: bool = Field(False, description="Found in a part (the narrative, the reflection), not an artifact.")


class DetailCheck(BaseModel):
    detail_id: str
    outcome_id: str
    text: str
    look_fors: list[str] = Field(default_factory=list)
    found: list[Found] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)


class SelfCheck(BaseModel):
    label: str = PRECHECK
    credential: str
    rubric_title: str = ""
    general: list[Note] = Field(default_factory=list, description="Parts, files and submission.yaml.")
    details: list[DetailCheck] = Field(default_factory=list)

    @property
    def notes(self) -> list[Note]:
        return self.general + [n for d in self.details for n in d.notes]

    @property
    def must_fix(self) -> list[Note]:
        return [n for n in self.notes if n.must_fix]

    @property
    def advice(self) -> list[Note]:
        return [n for n in self.notes if not n.must_fix]


def self_check(screening: Screening) -> SelfCheck:
    """The earner's pre-check of one screening (the same Screening `prescreen screen` reports on)."""
    report = screening.report
    if report.readiness == "unscreenable" or screening.rubric is None:
        return SelfCheck(credential=report.credential, general=[Note(
            kind="manifest", must_fix=True, says=f"The submission cannot be checked: {report.message}.",
            fix="Fix submission.yaml (or start again with `prescreen init`).")])
    words = _Words(screening)
    missing = {f"parts.{p.part_id}" for p in report.parts if p.file is None}  # said once, by the part's own note
    general = [_part_note(p) for p in report.parts if p.shortfall]
    general += [_problem_note(p) for p in report.problems]
    general += [_manifest_note(i) for i in report.manifest_issues if i.location not in missing]
    return SelfCheck(credential=report.credential, rubric_title=report.rubric_title, general=general,
                     details=[words.detail(d) for d in screening.rubric.details])


# ---------------------------------------------------------------- parts, files, submission.yaml


def _part_note(part: PartResult) -> Note:
    name, minimum = part.part_id.replace("_", " "), part.minimum or 0
    if part.file is None:
        return Note(kind="word_shortfall", must_fix=True, says=f"The {name} is missing.",
                    fix=f"Write it, or upload it as a file: at least {minimum} words.")
    return Note(kind="word_shortfall", must_fix=True, says=f"The {name} is {minimum - part.word_count} words short.",
                fix=f"It has {part.word_count} of the {minimum} words it needs: add to it before you submit.")


_PROBLEM_SAYS: dict[str, Callable[[str], str]] = {
    "no_text": lambda at: f"{at} has no text.",
    "unreadable": lambda at: f"{at} cannot be read.",
    "unsupported_type": lambda at: f"{at} is a kind of file prescreen cannot read.",
    "too_large": lambda at: f"{at} is too large to read.",
    "missing_file": lambda at: f"{at} is not in the submission.",
    "suspicious_instructions": lambda at: f"{at} has text addressed to an AI or an assessor, so it never counts as "
                                          "evidence.",
}


def _problem_note(problem: Problem) -> Note:
    name = PurePosixPath(problem.file).name
    at = f"{name}, {problem.where}," if problem.where else name
    return Note(kind="file_problem", must_fix=True, says=_PROBLEM_SAYS[problem.kind](at), fix=_problem_fix(problem))


def _problem_fix(problem: Problem) -> str:
    if problem.kind == "no_text" and problem.file.lower().endswith(".pdf"):
        return "Run OCR on the scanned page." if problem.where else "Upload a text PDF or a photo-free export."
    if problem.kind == "suspicious_instructions":
        return "Remove it: write for the people who read your work."
    if problem.kind == "missing_file":
        return "Upload the file, or remove the artifact."
    return _sentence(problem.message)  # the screen's message says what to do


def _manifest_note(issue: ManifestIssue) -> Note:
    where = f"submission.yaml line {issue.line}" if issue.line else "submission.yaml"
    return Note(kind="manifest", must_fix=True, says=_sentence(f"{where}, {issue.location}: {issue.message}"),
                fix="Correct the entry (or rebuild the submission in the browser).")


# ---------------------------------------------------------------- per detail


class _Words:
    """Writes the notes of one screening's details; knows its manifest and files to name things as the earner does."""

    def __init__(self, screening: Screening):
        self.report: Report = screening.report
        self.rubric: Rubric = screening.rubric  # type: ignore[assignment]
        self.sources: dict[str, Source] = screening.sources
        self.manifest: Manifest | None = screening.bundle.manifest if screening.bundle else None
        self.findings = {f.detail_id: f for f in self.report.details}
        self.parts = {p.part_id for p in self.report.parts} | set(self.manifest.parts if self.manifest else {})

    def detail(self, detail: Detail) -> DetailCheck:
        finding = self.findings.get(detail.id)
        issues = [i for i in self.report.self_analysis_issues if i.detail_id == detail.id]
        notes = [self.issue(i) for i in issues]
        if finding is not None and (note := self.finding(detail, finding)):
            notes.append(note)
        found = [self.found(c) for c in finding.citations if c.verified] if finding else []
        return DetailCheck(detail_id=detail.id, outcome_id=self.rubric.outcome_of(detail.id).id, text=detail.text,
                           look_fors=detail.look_fors, found=found, notes=notes)

    def found(self, citation: Citation) -> Found:
        return Found(artifact_id=citation.artifact_id, title=self.title(citation.artifact_id), where=citation.where,
                     quote=citation.quote, in_part=citation.artifact_id in self.parts)

    def title(self, artifact_id: str) -> str:
        titles = {a.id: a.title for a in self.manifest.artifacts} if self.manifest else {}
        fallback = f"your {artifact_id.replace('_', ' ')}" if artifact_id in self.parts else artifact_id
        return titles.get(artifact_id) or fallback

    # -- what the evidence looks like (advice: these are judgments)

    def finding(self, detail: Detail, finding: DetailFinding) -> Note | None:
        if finding.status == "missing":
            return Note(kind="not_found", must_fix=False, says=f"Nothing in your submission was found for {detail.id}.",
                        fix="Add an artifact that shows it, and point to the place in it.")
        if finding.status == "evidenced":
            return None
        in_artifacts = [c for c in finding.citations if c.artifact_id not in self.parts]
        if not in_artifacts:
            return Note(kind="narrative_only", must_fix=False, says=f"{detail.id} is only described in your narrative.",
                        fix="Point to an artifact that shows it.")
        shown_by = "a documented plan with targets, dates and owners" if detail.evidence == "plan" else "the work done"
        return Note(kind="thin_evidence", must_fix=False,
                    says=f"The evidence found for {detail.id} mentions it but does not show it clearly.",
                    fix=f"Point to an artifact that shows {shown_by}.")

    # -- the self-analysis (must fix: an assessor cannot follow the entry)

    def issue(self, issue: SelfAnalysisIssue) -> Note:
        return _ISSUE_WORDS[issue.kind](self, issue)

    def no_entry(self, issue: SelfAnalysisIssue) -> Note:
        if self.manifest and any(e.detail == issue.detail_id for e in self.manifest.self_analysis):
            return Note(kind="no_entry", must_fix=True, says=f"Your entry for {issue.detail_id} points to no artifact.",
                        fix="Pick the artifact and the place in it that shows this detail.")
        return Note(kind="no_entry", must_fix=True, says=f"There is no self-analysis entry for {issue.detail_id}.",
                    fix="Add one: pick the artifact and the place that shows it, and explain how it does.")

    def unknown_artifact(self, issue: SelfAnalysisIssue) -> Note:
        yours = ", ".join(a.id for a in self.manifest.artifacts) if self.manifest else ""
        return Note(kind="unknown_artifact", must_fix=True,
                    says=f"Your pointer to {issue.artifact_id} names no artifact of this submission.",
                    fix=f"Upload it as an artifact, or point to one of yours{f' ({yours})' if yours else ''}.")

    def out_of_range(self, issue: SelfAnalysisIssue) -> Note:
        source = self.sources.get(issue.artifact_id or "")
        reasons = ([why for p in parse_locators(issue.locator or "") if (why := out_of_range(source, p))]
                   if source else [])
        extent = f"this file {reasons[0].split(';')[0]}" if reasons else issue.message
        return Note(kind="pointer_out_of_range", must_fix=True, says=f"Your pointer {issue.locator}: {extent}.",
                    fix=f"Point to a place that exists{_span(source)}: pick it in the file's list of places.")

    def unclear(self, issue: SelfAnalysisIssue) -> Note:
        source = self.sources.get(issue.artifact_id or "")
        says = (f"Your pointer {issue.locator!r} to {issue.artifact_id} names no place prescreen can follow."
                if issue.locator else f"Your pointer to {issue.artifact_id} does not say where in the file.")
        fix = _HOW_TO_POINT.get(source.kind if source else "", "Write a page, paragraph, heading or time")
        return Note(kind="pointer_unclear", must_fix=True, says=says, fix=f"{fix}, or pick the place in the file.")

    def no_explanation(self, issue: SelfAnalysisIssue) -> Note:
        said = "says nothing" if "says nothing" in issue.message else "is missing"
        return Note(kind="no_explanation", must_fix=True, says=f"Your explanation for {issue.detail_id} {said}.",
                    fix="Say in a sentence or two how this evidence shows the detail.")

    def not_at_pointer(self, issue: SelfAnalysisIssue) -> Note:
        fix = "Check that the pointer goes to the place that shows it."
        if issue.evidence_at:
            fix = f"It seems to be at {issue.evidence_at} in {issue.artifact_id}: check, and point there if so."
        return Note(kind="not_at_pointer", must_fix=False,
                    says=f"At {issue.locator} in {issue.artifact_id}, prescreen found nothing about {issue.detail_id}.",
                    fix=fix)


_ISSUE_WORDS: dict[str, Callable[[_Words, SelfAnalysisIssue], Note]] = {
    "no_entry": _Words.no_entry,
    "unknown_artifact": _Words.unknown_artifact,
    "locator_out_of_range": _Words.out_of_range,
    "locator_unreadable": _Words.unclear,
    "no_explanation": _Words.no_explanation,
    "evidence_not_at_locator": _Words.not_at_pointer,
}
_HOW_TO_POINT = {
    "pdf": "Write a page (p. 3) or pages (pp. 3-4)",
    "docx": "Write a paragraph (para. 4) or a heading (§ Heading)",
    "text": "Write a paragraph (para. 4) or a heading (§ Heading)",
    "transcript": "Write a time (00:04:10) or a range (00:04:10-00:05:00)",
}


def _span(source: Source | None) -> str:
    """`(pages 1 to 5 of data-dive.pdf)`: the places the file has."""
    if source is None:
        return ""
    name = PurePosixPath(source.file).name
    if source.kind == "pdf":
        return f" (pages 1 to {source.page_count} of {name})"
    if source.kind == "transcript":
        return f" ({name} runs to {timestamp(source.duration or 0)})"
    return f" (paragraphs 1 to {source.paragraph_count} of {name})"


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


# ---------------------------------------------------------------- as text (the CLI; a view renders the models)


def to_text(check: SelfCheck) -> str:
    lines = ["PRE-CHECK, NOT AN ASSESSMENT", check.label, ""]
    if check.rubric_title:
        lines.append(f"{check.rubric_title} ({check.credential})")
    fix, advice = len(check.must_fix), len(check.advice)
    lines += [f"{fix} to fix before you submit, {advice} suggestion{'s' * (advice != 1)}.", ""]
    lines += [f"  {_mark(n)} {n.text}" for n in check.general]
    for detail in check.details:
        lines += ["", f"{detail.detail_id}  {' '.join(detail.text.split())}"]
        lines += [f"  found in {_source_name(f)}, {f.where}: \"{shorten(f.quote)}\"" for f in detail.found]
        lines += [f"  {_mark(n)} {n.text}" for n in detail.notes]
    return "\n".join(lines)


def _source_name(found: Found) -> str:
    return found.title if found.in_part else f"{found.artifact_id} ({found.title})"


def _mark(note: Note) -> str:
    return "MUST FIX:" if note.must_fix else "advice:"


def shorten(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
