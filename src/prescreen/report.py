"""The screening report: JSON schema v1 (../shared/spec/report.md) as pydantic models, and Markdown.

Fields of the spec are never renamed or removed; fields marked "added" extend it.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from prescreen.models import ManifestIssue, Status

SCHEMA_VERSION = 1

Readiness = Literal["ready", "not_ready", "unscreenable"]
IssueKind = Literal[
    "no_entry",
    "unknown_artifact",
    "locator_out_of_range",
    "locator_unreadable",
    "no_explanation",
    "evidence_not_at_locator",
]
ProblemKind = Literal[
    "no_text", "unreadable", "unsupported_type", "too_large", "missing_file", "suspicious_instructions"
]


class PartResult(BaseModel):
    part_id: str
    word_count: int
    minimum: int | None
    shortfall: bool
    file: str | None = Field(None, description="Added: the part's file in the bundle, if any.")


class Citation(BaseModel):
    artifact_id: str = Field(description="Artifact id, or a part id for a citation into a part file.")
    page: int | None = Field(None, description="1-based physical page (PDF).")
    start: float | None = Field(None, description="Seconds (transcripts).")
    end: float | None = Field(None, description="Seconds (transcripts).")
    quote: str = Field(description="Exact words copied from the source.")
    verified: bool = False
    paragraph: int | None = Field(None, description="Added: 1-based paragraph (DOCX, Markdown, text).")

    @property
    def where(self) -> str:
        """A reader's locator: `p. 3`, `para. 4`, `00:01:05-00:01:40`."""
        from prescreen.locators import describe

        return describe(self.page, self.paragraph, None, self.start, self.end)


class DetailFinding(BaseModel):
    detail_id: str
    status: Status
    confidence: float = Field(ge=0, le=1)
    citations: list[Citation] = Field(default_factory=list)
    rationale: str
    outcome_id: str | None = Field(None, description="Added: the essential outcome the detail belongs to.")
    citations_dropped: int = Field(0, description="Added: drafted citations that failed verification.")


class SelfAnalysisIssue(BaseModel):
    detail_id: str
    kind: IssueKind
    message: str
    artifact_id: str | None = Field(None, description="Added: the artifact the entry points to.")
    locator: str | None = Field(None, description="Added: the locator as the earner wrote it.")


class Problem(BaseModel):
    file: str
    kind: ProblemKind
    message: str
    where: str | None = Field(None, description="Added: page, paragraph or time in the file, where known.")


class LLMUsage(BaseModel):
    """Added: what drafting with a model cost for this submission."""

    calls: int = Field(0, description="Model calls made (cache hits excluded).")
    cached_calls: int = Field(0, description="Answers taken from the response cache: no tokens spent.")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = Field(0.0, description="Estimate from the configured prices per million tokens.")


class Report(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    schema_version: Literal[1] = Field(SCHEMA_VERSION, alias="schema")
    submission_id: str
    credential: str
    rubric_version: str
    drafter: str
    readiness: Readiness
    parts: list[PartResult] = Field(default_factory=list)
    details: list[DetailFinding] = Field(default_factory=list)
    self_analysis_issues: list[SelfAnalysisIssue] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)
    # ---- added fields
    rubric_title: str = ""
    attempt: int = 1
    citations_dropped: int = Field(0, description="Added: citations dropped because their quote was not found.")
    manifest_issues: list[ManifestIssue] = Field(default_factory=list)
    message: str | None = Field(None, description="Added: why the bundle is unscreenable, or a summary.")
    prompt_version: str | None = Field(None, description="Added: the drafting prompt's id and version (LLM drafter).")
    llm_usage: LLMUsage | None = Field(None, description="Added: tokens and cost of LLM drafting.")
    drafter_notes: list[str] = Field(
        default_factory=list, description="Added: e.g. outcomes where the LLM failed and the extractive drafter stood in."
    )

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)


def json_schema() -> str:
    """The report's JSON Schema, as other tools should validate it."""
    schema = Report.model_json_schema(by_alias=True, mode="serialization")
    schema["$id"] = f"https://prescreen.invalid/report.schema.v{SCHEMA_VERSION}.json"
    return json.dumps(schema, indent=2)
