"""The assessor workflow's public face, for the UI, the CLI and the tests: every name they import, re-exported
from the module that owns it. Read the workflow in its parts, top to bottom:

rules.py     states, the actions each allows, what decisions, scores and submits must satisfy (pure)
blind.py     masking the earner's identity; a screening run parsed once (Snapshot)
views.py     the view models each role is shown, and their pure builders
queries.py   reads and writes inside a transaction (audit entries, upserts, scores, final results)
reading.py   views assembled from the database
service.py   ReviewService: one transaction per action, with permissions and the audit log
wiring.py    the composition root: database from settings, the screening pipeline
"""

from __future__ import annotations

from prescreen.review.blind import (
    Deidentify,
    Masker,
    Snapshot,
    Snapshots,
    default_deidentify,
    identity_terms,
    unmasked,
)
from prescreen.review.errors import AuthError, InvalidInput, InvalidTransition, NotAllowed, NotFound, ReviewError
from prescreen.review.rules import (
    ALLOWED_FROM,
    BLIND_DECIDED_BY,
    DRAFT_STATUSES,
    INCOMPLETE_PROBLEMS,
    MAX_ATTEMPTS,
    READINESS_ORDER,
    SCORES,
    Action,
    DecisionAction,
    DecisionView,
    DraftStatus,
    Recommendation,
    Result,
    ResultSource,
    ScoreValue,
    ScoreView,
    State,
    allowed_now,
    compare,
    earner_key,
    label,
    not_ingested,
    override_choices,
    precheck,
    recommendation_of,
    require_state,
    result_of,
    scrub_paths,
)
from prescreen.review.service import ReviewService
from prescreen.review.views import (
    CONTEXT_CHARS,
    AdjudicationItem,
    ArtifactView,
    AssessorStatus,
    AssessorView,
    AssessorWork,
    AuditEntry,
    CitationView,
    DetailView,
    FinalResultView,
    LeadView,
    PlaceView,
    PreviousAttempt,
    PreviousDetail,
    QueueItem,
    SelfAnalysisView,
    SourcePlace,
    SourceView,
    SubmissionView,
    UserView,
    adjudication_items,
    around,
    assessor_work,
    citation_view,
    detail_view,
    flags,
    locate,
    place_view,
    self_analysis_views,
)
from prescreen.review.wiring import LazyScreener

__all__ = [
    "ALLOWED_FROM", "Action", "AdjudicationItem", "ArtifactView", "AssessorStatus", "AssessorView", "AssessorWork",
    "AuditEntry", "AuthError", "BLIND_DECIDED_BY", "CONTEXT_CHARS", "CitationView", "DRAFT_STATUSES", "DecisionAction",
    "DecisionView", "Deidentify", "DetailView", "DraftStatus", "FinalResultView", "INCOMPLETE_PROBLEMS", "InvalidInput",
    "InvalidTransition", "LazyScreener", "LeadView", "MAX_ATTEMPTS", "Masker", "NotAllowed", "NotFound", "PlaceView",
    "PreviousAttempt", "PreviousDetail", "QueueItem", "READINESS_ORDER", "Recommendation", "Result", "ResultSource",
    "ReviewError", "ReviewService", "SCORES", "ScoreValue", "ScoreView", "SelfAnalysisView", "Snapshot", "Snapshots",
    "SourcePlace", "SourceView",
    "State", "SubmissionView", "UserView", "adjudication_items", "allowed_now", "around", "assessor_work",
    "citation_view", "compare", "default_deidentify", "detail_view", "earner_key", "flags", "identity_terms", "label",
    "locate", "not_ingested", "override_choices", "place_view", "precheck", "recommendation_of", "require_state",
    "result_of", "scrub_paths", "self_analysis_views", "unmasked"
]
