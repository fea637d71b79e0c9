"""Every domain object of the pipeline, in pipeline order: rubric, manifest, text, chunks, findings.

The report models (what `prescreen screen --format json` prints) live in report.py.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Status = Literal["evidenced", "weak", "missing"]
SourceKind = Literal["pdf", "docx", "text", "transcript"]


class _Strict(BaseModel):
    """Input written by people (rubrics, manifests): unknown keys are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# ---------------------------------------------------------------- rubric


class RubricPart(_Strict):
    id: str = Field(description="Part id, the key of the manifest's `parts` (or `self_analysis`).")
    title: str
    kind: Literal["text", "self_analysis"] = Field(
        "text", description="`text`: a file with a narrative; `self_analysis`: the manifest's Part 2 entries."
    )
    minimum_words: int | None = Field(None, ge=1, description="Word minimum of a text part, if any.")
    description: str = ""
    prompts: list[str] = Field(default_factory=list, description="Questions the part must answer.")


class Detail(_Strict):
    id: str = Field(description="Stable id, e.g. EO1.1: reports and stored decisions refer to it.")
    text: str = Field(min_length=1)
    look_fors: list[str] = Field(
        default_factory=list, description="Phrases an assessor looks for; they help retrieval and drafting."
    )
    evidence: Literal["action", "plan", "statement"] = Field(
        "action",
        description="`action`: shown by something done (past, concrete); `plan`: shown by a documented plan "
        "(measurable targets, dates, owners), so forward-looking text can count; `statement`: shown by an "
        "explicit statement in an artifact (a vision, a commitment).",
    )


class Outcome(_Strict):
    id: str
    title: str = Field(min_length=1)
    details: list[Detail] = Field(min_length=1)


class Rubric(_Strict):
    id: str
    title: str
    version: str
    source: str = ""
    passing_rule: str = "Every detail under every outcome must be demonstrated."
    parts: list[RubricPart] = Field(min_length=1)
    outcomes: list[Outcome] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_are_unique(self) -> Rubric:
        seen: set[str] = set()
        ids = [p.id for p in self.parts] + [o.id for o in self.outcomes]
        ids += [d.id for o in self.outcomes for d in o.details]
        for id_ in ids:
            if id_ in seen:
                raise ValueError(f"duplicate id {id_!r}")
            seen.add(id_)
        if sum(p.kind == "self_analysis" for p in self.parts) > 1:
            raise ValueError("at most one part may be of kind self_analysis")
        return self

    @property
    def details(self) -> list[Detail]:
        return [d for o in self.outcomes for d in o.details]

    @property
    def text_parts(self) -> list[RubricPart]:
        return [p for p in self.parts if p.kind == "text"]

    def outcome_of(self, detail_id: str) -> Outcome:
        return next(o for o in self.outcomes if any(d.id == detail_id for d in o.details))


# ---------------------------------------------------------------- manifest (submission.yaml)


class Earner(_Strict):
    """Identity of the earner: never shown to an assessor."""

    name: str | None = None
    email: str | None = None
    organization: str | None = None


class ArtifactRef(_Strict):
    id: str = Field(min_length=1)
    file: str = Field(min_length=1, description="Path relative to the bundle root.")
    title: str = ""

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


class EvidenceRef(_Strict):
    artifact: str = Field(min_length=1, description="An artifact id (or a part id).")
    locator: str | None = Field(None, description='"p. 2", "pp. 2-3", "para. 4", "§ Heading", "00:04:10-00:05:00"')

    @field_validator("artifact", "locator", mode="before")
    @classmethod
    def _scalars_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int | float) else value


class SelfAnalysisEntry(_Strict):
    detail: str = Field(min_length=1)
    evidence: list[EvidenceRef] = Field(default_factory=list)
    explanation: str = ""

    @field_validator("explanation", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return "" if value is None else value


class ManifestHead(_Strict):
    """The part of the manifest without which nothing can be screened."""

    format: Literal[1]
    submission_id: str = Field(min_length=1)
    credential: str = Field(min_length=1)
    attempt: int = Field(1, ge=1)
    earner: Earner = Field(default_factory=Earner)
    parts: dict[str, str] = Field(default_factory=dict)
    artifacts: list[object] = Field(default_factory=list, description="Validated one by one: see Manifest.")
    self_analysis: list[object] = Field(default_factory=list, description="Validated one by one.")

    @field_validator("submission_id", "credential", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @field_validator("parts", "artifacts", "self_analysis", "earner", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object, info) -> object:
        """`artifacts:` left empty in YAML is null: read it as an empty list, not a broken manifest."""
        if value is None:
            return {} if info.field_name in ("parts", "earner") else []
        return value


class ManifestIssue(BaseModel):
    """A problem in submission.yaml that leaves the rest screenable (a bad artifact entry, say)."""

    location: str = Field(description="Where in the manifest, e.g. `artifacts[2].file`.")
    line: int | None = Field(None, description="1-based line in submission.yaml, where known.")
    message: str


class Manifest(BaseModel):
    """A validated manifest: entries that failed validation are left out and listed in `issues`."""

    submission_id: str
    credential: str
    attempt: int = 1
    earner: Earner = Field(default_factory=Earner)
    parts: dict[str, str] = Field(default_factory=dict)
    artifacts: list[ArtifactRef] = Field(default_factory=list)
    self_analysis: list[SelfAnalysisEntry] = Field(default_factory=list)
    issues: list[ManifestIssue] = Field(default_factory=list)


# ---------------------------------------------------------------- text with provenance


class Segment(BaseModel):
    """The smallest addressable piece of a source: a PDF page, a paragraph, a transcript cue."""

    text: str
    page: int | None = Field(None, description="1-based physical page (PDF).")
    page_label: str | None = Field(None, description="The page's printed label, where the PDF defines labels.")
    paragraph: int | None = Field(None, description="1-based paragraph number (DOCX, Markdown, text).")
    section: str | None = Field(None, description="Text of the heading the paragraph stands under.")
    start: float | None = Field(None, description="Cue start, seconds (transcripts).")
    end: float | None = Field(None, description="Cue end, seconds (transcripts).")


class Source(BaseModel):
    """One file of the bundle as text: an artifact, or a part (overview, reflection)."""

    id: str = Field(description="Artifact id, or the part id for a part file.")
    file: str = Field(description="Path relative to the bundle root.")
    title: str = ""
    role: Literal["artifact", "part"]
    kind: SourceKind
    segments: list[Segment] = Field(default_factory=list)
    page_count: int | None = Field(None, description="Pages in the PDF, blank ones included.")
    blank_pages: list[int] = Field(
        default_factory=list,
        description="1-based PDF pages with no text layer that carry an image (scanned): their text is unknown.",
    )
    comments: list[str] = Field(
        default_factory=list,
        description="Reviewers' comments in a Word file: never evidence, but checked for instructions to an AI.",
    )
    unread: list[str] = Field(
        default_factory=list,
        description="Places in the file that could not be read, e.g. a cue with an impossible time.",
    )

    @property
    def duration(self) -> float | None:
        ends = [s.end for s in self.segments if s.end is not None]
        return max(ends) if ends else None

    @property
    def paragraph_count(self) -> int:
        return sum(1 for s in self.segments if s.paragraph is not None)

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.segments)


class Chunk(BaseModel):
    """A piece of a source sized for embedding. Keeps its provenance into Chroma's metadata."""

    id: str = Field(description="Content hash: the same text at the same place gets the same id.")
    submission_id: str
    source_id: str
    text: str
    page: int | None = None
    paragraph_start: int | None = None
    paragraph_end: int | None = None
    section: str | None = None
    start: float | None = None
    end: float | None = None
    char_start: int = Field(description="Offset of the chunk in its page (PDF) or in the source's joined text.")
    char_end: int
    heading: str = Field(
        "", description="The source's title and the section headings the chunk stands under: embedded with "
        "the text for context, never quoted."
    )

    @property
    def embed_text(self) -> str:
        return f"{self.heading}\n{self.text}" if self.heading else self.text

    @property
    def where(self) -> str:
        """A reader's locator for the chunk: `p. 3`, `paras. 2-4`, `00:01:05-00:01:40`."""
        from prescreen.locators import describe

        return describe(self.page, self.paragraph_start, self.paragraph_end, self.start, self.end)


class Locator(BaseModel):
    """A parsed self-analysis locator."""

    kind: Literal["page", "paragraph", "section", "time"]
    first: float | None = Field(None, description="First page / paragraph / second.")
    last: float | None = Field(None, description="Last page / paragraph / second (same as first for one).")
    section: str | None = None
