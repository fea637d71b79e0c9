"""The screening report: JSON schema v1 (../shared/spec/report.md) as pydantic models, and Markdown.

Fields of the spec are never renamed or removed; fields marked "added" extend it.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from prescreen.models import ManifestIssue, Status

SCHEMA_VERSION: Literal[1] = 1

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
FallbackReason = Literal[
    "timeout",          # the server did not answer within the request timeout (after the client's retries)
    "deadline",         # the outcome's deadline passed: its calls were cancelled
    "invalid_answer",   # the answer was not valid JSON for the schema, twice
    "token_budget",     # the submission's token budget would have been passed
    "rate_limited",     # 429, still after the client's retries
    "refused",          # another 4xx: the request was refused
    "server_error",     # 5xx, still after the client's retries
    "connection",       # the server could not be reached
    "error",            # anything else
]
EXTRACTIVE = "extractive"


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
    drafted_by: str = Field(EXTRACTIVE, description="Added: who drafted this finding: `llm:<model>`, or `extractive`.")
    fallback_reason: FallbackReason | None = Field(
        None, description="Added: why the extractive drafter stood in for the LLM on this finding's outcome; null when "
        "it did not.")


class SelfAnalysisIssue(BaseModel):
    detail_id: str
    kind: IssueKind
    message: str
    artifact_id: str | None = Field(None, description="Added: the artifact the entry points to.")
    locator: str | None = Field(None, description="Added: the locator as the earner wrote it.")
    evidence_at: str | None = Field(
        None, description="Added: for evidence_not_at_locator, where the same file seems to hold the evidence."
    )


class Problem(BaseModel):
    file: str
    kind: ProblemKind
    message: str
    where: str | None = Field(None, description="Added: page, paragraph or time in the file, where known.")


class OutcomeCall(BaseModel):
    """Added: how one essential outcome was drafted."""

    outcome_id: str
    drafted_by: str = Field(description="`llm:<model>`, or `extractive` when the fallback stood in.")
    fallback_reason: FallbackReason | None = None
    calls: int = Field(0, description="Model calls answered for this outcome (cache hits and failed calls excluded).")
    cached: bool = Field(False, description="The answer came from the response cache: no call made.")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    max_tokens: int = Field(0, description="The cap on each answer's tokens, sized from the outcome's schema.")
    elapsed_s: float = Field(
        0.0, description="Seconds from the outcome's first call to its last answer or its cancellation."
    )
    deadline_s: float = Field(0.0, description="The outcome's deadline: its calls are cancelled when it passes.")


class LLMUsage(BaseModel):
    """Added: what drafting with a model cost for this submission."""

    calls: int = Field(0, description="Model calls made (cache hits excluded).")
    cached_calls: int = Field(0, description="Answers taken from the response cache: no tokens spent.")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = Field(0.0, description="Estimate from the configured prices per million tokens.")
    structured_output: str | None = Field(
        None, description="Added: how the server was last asked for JSON: json_schema, json_object_schema, json_object "
        "or none (what it supports, found from its answers).")
    system_role: bool | None = Field(None, description="Added: whether the rules went in a system message (false: "
                                     "merged into the first user turn, for chat templates without a system role).")
    outcomes: list[OutcomeCall] = Field(default_factory=list, description="Added: per essential outcome.")
    places: list[OutcomeCall] = Field(
        default_factory=list, description="Added: the calls that read the places the self-analysis points to "
        "(`outcome_id` `places`); their calls and tokens are in the totals above.")

    def add(self, call: OutcomeCall) -> None:
        """Counts a call made beside the outcomes' (reading the pointed places) in the totals."""
        self.places.append(call)
        self.calls += call.calls
        self.cached_calls += int(call.cached)
        self.prompt_tokens += call.prompt_tokens
        self.completion_tokens += call.completion_tokens


class OutcomeFallback(BaseModel):
    outcome_id: str
    reason: FallbackReason


class DrafterSummary(BaseModel):
    """Added: who drafted what, read from the findings themselves, so it cannot disagree with them."""

    model: str | None = Field(None, description="The LLM asked to draft; null for the extractive drafter.")
    outcomes: int = Field(0, description="Essential outcomes drafted.")
    llm_outcomes: list[str] = Field(default_factory=list, description="Outcomes whose findings the LLM drafted.")
    fallbacks: list[OutcomeFallback] = Field(
        default_factory=list, description="Outcomes the extractive drafter drafted because the LLM failed, and why.")

    @classmethod
    def of(cls, drafter: str, details: list[DetailFinding]) -> DrafterSummary:
        model = drafter.split(" ", 1)[0].removeprefix("llm:") if drafter.startswith("llm:") else None
        by_outcome: dict[str, list[DetailFinding]] = {}
        for finding in details:
            by_outcome.setdefault(finding.outcome_id or finding.detail_id, []).append(finding)
        llm = [o for o, found in by_outcome.items() if all(f.drafted_by.startswith("llm:") for f in found)]
        fallbacks = [OutcomeFallback(outcome_id=o, reason=reason) for o, found in by_outcome.items()
                     if (reason := next((f.fallback_reason for f in found if f.fallback_reason), None))]
        return cls(model=model, outcomes=len(by_outcome), llm_outcomes=llm, fallbacks=fallbacks)

    def label(self) -> str:
        """`llm:<model>`, `llm:<model> (3 of 4 outcomes; 1 fell back: timeout)`, or `extractive (...)`."""
        if self.model is None:
            return EXTRACTIVE
        name, n, k = f"llm:{self.model}", self.outcomes, len(self.llm_outcomes)
        reasons = ", ".join(dict.fromkeys(f.reason for f in self.fallbacks)) or "unknown"
        if k == n:
            return name
        if k == 0:
            return f"{EXTRACTIVE} ({name} fell back for all {n} outcomes: {reasons})"
        return f"{name} ({k} of {n} outcomes; {n - k} fell back: {reasons})"


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
        default_factory=list,
        description="Added: e.g. outcomes where the LLM failed and the extractive drafter stood in.",
    )
    drafter_summary: DrafterSummary | None = Field(
        None,
        description="Added: who drafted which outcomes, read from the findings' `drafted_by`; `drafter` is its label.",
    )

    @model_validator(mode="after")
    def _honest_drafter(self) -> Report:
        """`drafter` never claims the LLM drafted what the extractive fallback drafted: when the summary is made
        (a new report), the label is rewritten from the findings."""
        if self.drafter_summary is None and self.details:
            self.drafter_summary = DrafterSummary.of(self.drafter, self.details)
            self.drafter = self.drafter_summary.label()
        return self

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)


def json_schema() -> str:
    """The report's JSON Schema, as other tools should validate it."""
    schema = Report.model_json_schema(by_alias=True, mode="serialization")
    schema["$id"] = f"https://prescreen.invalid/report.schema.v{SCHEMA_VERSION}.json"
    return json.dumps(schema, indent=2)
