"""The assessor workflow as plain domain code: who may see and do what, states, blind rules, adjudication, attempts.

One submission goes: ingest (screened, pre-checked) -> `incomplete` or `awaiting_assignment` -> two assessors
score it blind (`in_review`) -> agreement gives a `final` result at once; disagreement goes to the lead
(`adjudication`), whose scores settle the disputed details -> `final`. An incomplete submission can be
`returned` to the earner without a full review (and ingested again once fixed), or assigned anyway.

Every public method of ReviewService is one short transaction and appends to the audit log. The UI and the
CLI are thin edges over it; nothing here imports gradio.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field
from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from prescreen.errors import BundleError, PrescreenError
from prescreen.models import Earner, Manifest, Rubric, Source
from prescreen.report import Citation, DetailFinding, Report
from prescreen.review import accounts
from prescreen.review.db import (
    Adjudication, Assignment, AuditLog, Decision, FinalResult, Finding, Score, ScreeningRun, Submission, User,
    aware, utcnow,
)
from prescreen.verify import clean_quote, region_text

if TYPE_CHECKING:
    from prescreen.pipeline import Screening
    from prescreen.settings import Settings

State = Literal["incomplete", "awaiting_assignment", "in_review", "adjudication", "final", "returned"]
ScoreValue = Literal["demonstrated", "not_yet"]
Deidentify = Callable[[str, list[str]], str]

MAX_ATTEMPTS = 3
AUDIT_ACTOR_CHARS = 64  # the column's size
AUDIT_NOTE_CHARS = 4000  # a return reason or a comment: enough to read, never megabytes
CONTEXT_CHARS = 300
DRAFT_STATUSES = ("evidenced", "weak", "missing")
SCORES = ("demonstrated", "not_yet")
#: who decided a final result, as an assessor reads it: never a name
BLIND_DECIDED_BY = {"agreement": "both assessors", "adjudication": "the program lead"}
INCOMPLETE_PROBLEMS = frozenset({"missing_file", "unreadable", "no_text", "unsupported_type", "too_large"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
READINESS_ORDER = {"ready": 0, "not_ready": 1, "unscreenable": 2}

#: action -> the states it is allowed in. Everything else is an InvalidTransition.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "assign": ("incomplete", "awaiting_assignment"),
    "return_to_earner": ("incomplete",),
    "ingest again": ("incomplete", "awaiting_assignment", "returned"),
    "decide": ("in_review",),
    "score": ("in_review",),
    "submit": ("in_review",),
    "adjudicate": ("adjudication",),
}


# ---------------------------------------------------------------- errors


class ReviewError(PrescreenError):
    """A workflow rule refused an action; the message says what is allowed instead."""


class NotAllowed(ReviewError):
    """The user's role, or their assignments, do not allow this."""


class InvalidTransition(ReviewError):
    """The submission's state does not allow this action now."""


class NotFound(ReviewError):
    """No such submission, user or detail."""


class AuthError(ReviewError):
    """Unknown user, wrong password, or an inactive account."""


class InvalidInput(ReviewError):
    """Added: an argument breaks a rule (an override without a reason, an inconsistent recommendation)."""


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
    readiness: str
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
    readiness: str
    incomplete: bool
    incomplete_reasons: list[str]
    status: str = Field(description="The submission's state.")
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


class SelfAnalysisView(BaseModel):
    artifact_id: str | None
    locator: str | None
    explanation: str


class DetailView(BaseModel):
    detail_id: str
    outcome_id: str
    text: str
    drafted_status: str
    confidence: float
    rationale: str
    citations: list[CitationView]
    self_analysis: list[SelfAnalysisView]
    issues: list[str]
    decision: tuple[str, str | None, str] | None = Field(None, description="(action, new_status, reason): yours.")
    score: tuple[str, str] | None = Field(None, description="(score, feedback): yours.")
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
    result: Literal["earned", "not_yet_earned"]
    per_detail: dict[str, tuple[str, str]] = Field(description="detail -> (score, feedback for the earner)")
    decided_by: str
    decided_at: datetime
    source: Literal["agreement", "adjudication"]


class AssessorView(BaseModel):
    submission: int
    label: str
    credential: str
    rubric_title: str
    attempt: int
    status: str
    submitted: bool
    details: list[DetailView]
    flags: list[str]
    previous_attempt: PreviousAttempt | None = None
    recommendation: str | None = None
    comment: str = ""
    artifacts: list[ArtifactView] = Field(default_factory=list)


class AssessorStatus(BaseModel):
    username: str
    display_name: str
    submitted: bool
    submitted_at: datetime | None
    recommendation: str | None
    decided: int
    scored: int


class AssessorWork(BaseModel):
    """One assessor's decision and score on one detail, as the lead reads them when adjudicating."""

    assessor: str = Field(description="The assessor's username: the lead sees who did what.")
    action: Literal["confirm", "override"] | None = None
    new_status: str | None = Field(None, description="The status an override gave the finding.")
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
    assessor_scores: dict[str, dict[str, tuple[str, str]]] = Field(default_factory=dict)
    assessor_decisions: dict[str, dict[str, tuple[str, str | None, str]]] = Field(default_factory=dict)
    disputed: list[str] = Field(default_factory=list)
    adjudications: dict[str, tuple[str, str]] = Field(default_factory=dict)
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


# ---------------------------------------------------------------- rules (pure functions)


def label(sub: Submission) -> str:
    return f"{sub.code} · attempt {sub.attempt}"


def require_state(sub: Submission, action: str) -> None:
    """InvalidTransition, saying what is allowed, unless `action` is allowed in the submission's state."""
    allowed = ALLOWED_FROM[action]
    if sub.state in allowed:
        return
    now = [name.replace("_", " ") for name, states in ALLOWED_FROM.items() if sub.state in states]
    raise InvalidTransition(
        f"{label(sub)} is {sub.state}: {action.replace('_', ' ')} is allowed only when it is "
        f"{' or '.join(allowed)}; allowed now: {', '.join(now) if now else 'nothing'}"
    )


def precheck(report: Report) -> list[str]:
    """Why the submission is incomplete (an empty list when it is complete enough for assessors)."""
    reasons = [f"cannot be screened: {report.message}"] if report.readiness == "unscreenable" else []
    reasons += [
        f"part {p.part_id} has {p.word_count} words, below its minimum of {p.minimum}"
        for p in report.parts if p.shortfall
    ]
    reasons += [
        f"{p.file}{f' ({p.where})' if p.where else ''}: {p.kind.replace('_', ' ')}: {p.message}"
        for p in report.problems if p.kind in INCOMPLETE_PROBLEMS
    ]
    return reasons


def compare(first: dict[str, tuple[str, str]], second: dict[str, tuple[str, str]]):
    """(agreed {detail: (score, joint feedback)}, disputed [detail]) of two assessors' scores."""
    agreed, disputed = {}, []
    for detail, (score, feedback) in first.items():
        other, other_feedback = second[detail]
        if score == other:
            agreed[detail] = (score, "\n\n".join(dict.fromkeys(f for f in (feedback, other_feedback) if f.strip())))
        else:
            disputed.append(detail)
    return agreed, disputed


def result_of(per_detail: dict[str, tuple[str, str]]) -> str:
    """Earned only when every detail is demonstrated."""
    return "earned" if all(score == "demonstrated" for score, _ in per_detail.values()) else "not_yet_earned"


_ABSOLUTE_PATH = re.compile(r"(?<![\w.~])(?:[A-Za-z]:)?[\\/][^\s'\"():,;]*")


def scrub_paths(message: str, bundle: Path) -> str:
    """The message with every server path cut to its base name: the bundle's own first, then any other."""
    for spelled in {str(bundle.resolve()), str(bundle)}:
        message = message.replace(spelled, bundle.name)
    return _ABSOLUTE_PATH.sub(lambda m: re.split(r"[\\/]", m.group().rstrip("/\\"))[-1] or m.group(), message)


def not_ingested(bundle: Path, problem: str) -> str:
    """Why a bundle was refused at ingest, naming the file (never its path on the server) and the fix."""
    problem = scrub_paths(problem, bundle).removeprefix(f"{bundle.name}: ")
    return (f"cannot be screened: {bundle.name}: {problem.rstrip('.')}. Nothing was added to the queue; fix the "
            "bundle and ingest it again")


def earner_key(manifest: Manifest | None) -> str | None:
    """Links attempts of the same earner without keeping the e-mail in the submissions table."""
    email = manifest.earner.email if manifest else None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest() if email else None


# ---------------------------------------------------------------- blind: masking identity


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-])")


def identity_terms(manifest: Manifest | None) -> list[str]:
    """The earner's name, its capitalised parts, e-mail and organisation (and its comma-separated parts)."""
    if manifest is None:
        return []
    earner = manifest.earner
    name, org = earner.name or "", earner.organization or ""
    terms = [name, earner.email or "", org, *(p for p in name.split() if p[:1].isupper())]
    terms += [part.strip() for part in org.split(",")]
    cleaned = {t.strip(" .,;:()") for t in terms}
    return sorted((t for t in cleaned if len(t) >= 2), key=lambda t: (-len(t), t))


def _terms_pattern(terms: list[str]) -> re.Pattern | None:
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def fallback_mask(text: str, names: list[str]) -> str:
    """Masks e-mails, phone numbers and the given names only: a fast stand-in for tests, not for assessors."""
    text = _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))
    pattern = _terms_pattern(names)
    return pattern.sub("[name]", text) if pattern else text


def default_deidentify() -> Deidentify:
    """Presidio-based masking (review/deidentify.py); a missing dependency fails loudly, never silently weaker."""
    from prescreen.review.deidentify import mask

    return mask


class _Masker:
    """deidentify() for one earner, then the earner's exact identity masked again: blind even if it misses one."""

    def __init__(self, deidentify: Deidentify, terms: list[str]):
        self.deidentify, self.terms = deidentify, terms
        self.pattern = _terms_pattern(terms)
        self.cache: dict[str, str] = {}

    def __call__(self, text: str | None) -> str:
        if not text:
            return text or ""
        if text not in self.cache:
            masked = self.deidentify(text, list(self.terms))
            self.cache[text] = self.pattern.sub("[redacted]", masked) if self.pattern else masked
        return self.cache[text]


def _unmasked(text: str | None) -> str:
    return text or ""


# ---------------------------------------------------------------- a screening run, parsed


@dataclass
class _Snapshot:
    """The latest screening run of a submission, parsed once (runs never change: a re-screen adds one)."""

    run_id: int
    version: int
    report: Report
    sources: dict[str, Source]
    manifest: Manifest | None
    rubric: Rubric | None
    mask: _Masker

    @classmethod
    def load(cls, run: ScreeningRun, deidentify: Deidentify) -> _Snapshot:
        manifest = Manifest.model_validate_json(run.manifest_json) if run.manifest_json else None
        return cls(
            run.id, run.version, Report.model_validate_json(run.report_json),
            {k: Source.model_validate(v) for k, v in json.loads(run.sources_json).items()},
            manifest, Rubric.model_validate_json(run.rubric_json) if run.rubric_json else None,
            _Masker(deidentify, identity_terms(manifest)),
        )

    @property
    def detail_ids(self) -> list[str]:
        return [f.detail_id for f in self.report.details]

    def finding(self, detail_id: str) -> DetailFinding:
        for finding in self.report.details:
            if finding.detail_id == detail_id:
                return finding
        raise NotFound(f"{detail_id!r} is not a detail of this submission: use one of {', '.join(self.detail_ids)}")

    def detail_text(self, detail_id: str) -> str:
        details = {d.id: d.text for d in self.rubric.details} if self.rubric else {}
        return details.get(detail_id, "")


# ---------------------------------------------------------------- building views (pure functions)


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


def citation_view(sources: dict[str, Source], citation: Citation, mask: Callable[[str], str]) -> CitationView:
    source = sources.get(citation.artifact_id)
    region = (region_text(source, citation) if source else None) or ""
    before, quote, after = around(region, citation.quote)
    return CitationView(
        artifact_id=citation.artifact_id, title=mask(source.title if source else ""),
        where=citation.where,
        quote=mask(quote), context_before=mask(before), context_after=mask(after),
    )


def self_analysis_views(manifest: Manifest | None, detail_id: str, mask) -> list[SelfAnalysisView]:
    views = []
    for entry in (e for e in manifest.self_analysis if e.detail == detail_id) if manifest else []:
        for ref in entry.evidence or [None]:
            views.append(SelfAnalysisView(
                artifact_id=ref.artifact if ref else None, locator=mask(ref.locator) if ref and ref.locator else None,
                explanation=mask(entry.explanation),
            ))
    return views


def detail_view(snap: _Snapshot, finding: DetailFinding, mask, decision, score) -> DetailView:
    return DetailView(
        detail_id=finding.detail_id, outcome_id=finding.outcome_id or "", text=snap.detail_text(finding.detail_id),
        drafted_status=finding.status, confidence=finding.confidence, rationale=mask(finding.rationale),
        citations=[citation_view(snap.sources, c, mask) for c in finding.citations],
        self_analysis=self_analysis_views(snap.manifest, finding.detail_id, mask),
        issues=[mask(i.message) for i in snap.report.self_analysis_issues if i.detail_id == finding.detail_id],
        decision=decision, score=score, drafted_by=finding.drafted_by, fallback_reason=finding.fallback_reason,
    )


def adjudication_items(details: list[DetailView], disputed: list[str], decisions: dict, scores: dict,
                       adjudications: dict[str, tuple[str, str]]) -> list[AdjudicationItem]:
    """Each disputed detail with its drafted finding and both assessors' decisions and scores (by username)."""
    items = []
    for detail in (d for d in details if d.detail_id in disputed):
        lead_score, lead_feedback = adjudications.get(detail.detail_id, (None, ""))
        work = [assessor_work(name, decisions[name].get(detail.detail_id), scores[name].get(detail.detail_id))
                for name in scores]
        items.append(AdjudicationItem(detail_id=detail.detail_id, detail_text=detail.text, drafted=detail,
                                      assessors=work, lead_score=lead_score, lead_feedback=lead_feedback))
    return items


def assessor_work(name: str, decision: tuple[str, str | None, str] | None,
                  score: tuple[str, str] | None) -> AssessorWork:
    action, new_status, reason = decision or (None, None, "")
    value, feedback = score or (None, "")
    return AssessorWork(assessor=name, action=action, new_status=new_status, reason=reason, score=value,
                        feedback=feedback)


def flags(report: Report, mask) -> list[str]:
    """Word-count shortfalls, self-analysis issues, file problems and manifest issues, one line each."""
    out = [f"Unscreenable: {report.message}"] if report.readiness == "unscreenable" else []
    out += [f"Word count: {p.part_id} has {p.word_count} words, below its minimum of {p.minimum}"
            for p in report.parts if p.shortfall]
    out += [f"Self-analysis {i.detail_id}: {i.message}" for i in report.self_analysis_issues]
    out += [f"File {p.file}{f' ({p.where})' if p.where else ''}: {p.kind.replace('_', ' ')}: {p.message}"
            for p in report.problems]
    out += [f"Manifest {i.location}: {i.message}" for i in report.manifest_issues]
    return [mask(line) for line in out]


# ---------------------------------------------------------------- the service


class ReviewService:
    """The workflow over a database. `screen` screens a bundle path; `deidentify(text, names)` masks text."""

    SNAPSHOTS_KEPT = 32

    def __init__(
        self,
        session_factory: sessionmaker,
        screen: Callable[[Path], Screening],
        deidentify: Deidentify | None = None,
        *,
        passwords: accounts.Passwords | None = None,
        throttle: accounts.LoginThrottle | None = None,
    ):
        self.sessions = session_factory
        self.screen = screen
        self.deidentify = deidentify or default_deidentify()
        self.passwords = passwords or accounts.Passwords()
        self.throttle = throttle or accounts.LoginThrottle()
        self._snapshots: dict[int, _Snapshot] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> ReviewService:
        """The database from settings (SQLite in the data dir by default), migrated; the default Screener."""
        from prescreen.review.db import database_url, make_engine, session_factory, upgrade

        engine = make_engine(database_url(settings))
        upgrade(engine)
        return cls(session_factory(engine), screen=_LazyScreener(settings))

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self.sessions.begin() as session:
            yield session

    # ------------------------------------------------------------ accounts

    def create_user(self, username: str, password: str, role: str, display_name: str = "",
                    *, actor: str = "system") -> UserView:
        problem = accounts.check_new_user(username, password, role)
        if problem:
            raise InvalidInput(problem)
        password_hash = self.passwords.hash(password)  # slow on purpose: outside the transaction
        with self._tx() as s:
            if accounts.find_user(s, username):
                raise InvalidInput(f"user {username!r} exists already: pick another username")
            user = User(username=username, password_hash=password_hash, role=role, display_name=display_name)
            s.add(user)
            _audit(s, actor, "create_user", note=f"{username} ({role})")
            return _user_view(user)

    def authenticate(self, username: str, password: str, address: str | None = None) -> UserView:
        """The user, when the password is theirs. Failed attempts are throttled per username and per address
        (`address`: the client's, when the edge knows it) with a delay that grows; the log keeps a capped name."""
        logged = accounts.logged_username(username)
        if (wait := self.throttle.wait_s(username, address)) > 0:
            with self._tx() as s:
                _audit(s, logged, "login_throttled", note=address or "")
            raise AuthError(f"too many failed sign-ins: wait {math.ceil(wait)} s and try again")
        with self._tx() as s:
            user = accounts.find_user(s, username)
            ok = self.passwords.check(user, password)
            _audit(s, logged, "login" if ok else "login_failed", note=address or "")
            view = _user_view(user) if ok else None
        if view is None:
            self.throttle.failed(username, address)
            raise AuthError("unknown username or wrong password")
        self.throttle.succeeded(username)
        return view

    def user(self, username: str) -> UserView:
        with self._tx() as s:
            user = accounts.find_user(s, username)
            if user is None:
                raise NotFound(f"no user {username!r}: create one with `prescreen users add`")
            return _user_view(user)

    def assessors(self) -> list[UserView]:
        with self._tx() as s:
            users = s.scalars(select(User).where(User.role == "assessor", User.active).order_by(User.username))
            return [_user_view(u) for u in users]

    def leads(self) -> list[UserView]:
        """Added: the active leads."""
        with self._tx() as s:
            users = s.scalars(select(User).where(User.role == "lead", User.active).order_by(User.username))
            return [_user_view(u) for u in users]

    def _actor(self, s: Session, username: str, role: str | None = None, doing: str = "do this") -> User:
        user = accounts.find_user(s, username)
        if user is None or not user.active:
            raise AuthError(f"{username!r} is not a known, active user: sign in again")
        if role and user.role != role:
            raise NotAllowed(f"{username} is {'a lead' if user.role == 'lead' else 'an assessor'}: "
                             f"only {role}s may {doing}")
        return user

    # ------------------------------------------------------------ lead: ingest

    def ingest(self, actor: str, bundle: Path) -> SubmissionView:
        """Screen the bundle, then store submission, run, findings and audit entry in one transaction."""
        bundle = Path(bundle)
        with self._tx() as s:
            self._actor(s, actor, "lead", "ingest bundles")
        screening = self._screen(bundle)  # seconds: no transaction is open meanwhile
        try:
            with self._tx() as s:
                lead = self._actor(s, actor, "lead", "ingest bundles")
                sub = self._store(s, lead, screening, str(bundle))
                return self._submission_view(s, sub)
        except IntegrityError as exc:  # the same new submission, ingested by someone else at this very moment
            raise InvalidTransition(f"{bundle.name} was ingested by another action at the same moment: "
                                    "ingest it again to add a screening run") from exc

    def _screen(self, bundle: Path) -> Screening:
        """The screening, or InvalidInput when the bundle cannot be screened at all (not a zip, no manifest,
        unknown credential, hostile zip): such a bundle never becomes a submission. Messages name the file,
        never a path on the server."""
        try:
            screening = self.screen(bundle)
        except BundleError as exc:
            raise InvalidInput(not_ingested(bundle, str(exc))) from None
        if screening.report.readiness == "unscreenable":
            raise InvalidInput(not_ingested(bundle, screening.report.message or "it cannot be screened"))
        return screening

    def _store(self, s: Session, lead: User, screening: Screening, origin: str) -> Submission:
        manifest = screening.bundle.manifest if screening.bundle else None
        code = manifest.submission_id if manifest else screening.report.submission_id
        attempt = manifest.attempt if manifest else 1
        if attempt > MAX_ATTEMPTS:
            raise InvalidTransition(f"{code} · attempt {attempt}: at most three attempts are allowed per credential")
        reasons = precheck(screening.report)
        state = "incomplete" if reasons else "awaiting_assignment"
        sub = s.scalar(select(Submission).where(Submission.code == code, Submission.attempt == attempt)
                       .with_for_update())
        if sub is None:
            sub = self._new_submission(s, screening, manifest, code, attempt, state)
        else:
            _check_same_earner(s, sub, manifest)
            require_state(sub, "ingest again")
        run = self._add_run(s, sub, screening, manifest)
        sub.state, sub.readiness, sub.returned_reason = state, screening.report.readiness, None
        sub.incomplete_reasons, sub.origin, sub.updated_at = json.dumps(reasons), origin, utcnow()
        _audit(s, lead.username, "ingest", sub.id, note=f"screening run {run.version}: {state}")
        return sub

    def _new_submission(self, s, screening, manifest, code: str, attempt: int, state: str) -> Submission:
        key = earner_key(manifest)
        credential = screening.report.credential or (manifest.credential if manifest else "")
        previous = _previous_attempt_of(s, code, credential, key, attempt) if attempt > 1 else None
        if previous is not None:
            _check_same_earner(s, previous, manifest)
            _check_previous(s, previous, attempt)
        sub = Submission(code=code, credential=credential, attempt=attempt, earner_key=key, state=state,
                         readiness=screening.report.readiness, previous_id=previous.id if previous else None)
        s.add(sub)
        s.flush()
        return sub

    def _add_run(self, s: Session, sub: Submission, screening: Screening, manifest) -> ScreeningRun:
        report, rubric = screening.report, screening.rubric
        version = (s.scalar(select(func.max(ScreeningRun.version)).where(ScreeningRun.submission_id == sub.id)) or 0) + 1
        run = ScreeningRun(
            submission_id=sub.id, version=version, readiness=report.readiness,
            rubric_id=rubric.id if rubric else report.credential, rubric_version=report.rubric_version,
            report_json=report.to_json(),
            sources_json=json.dumps({k: v.model_dump(mode="json") for k, v in screening.sources.items()}),
            manifest_json=manifest.model_dump_json() if manifest else None,
            rubric_json=rubric.model_dump_json() if rubric else None,
        )
        s.add(run)
        s.flush()
        s.add_all(Finding(run_id=run.id, detail_id=f.detail_id, outcome_id=f.outcome_id, status=f.status,
                          confidence=f.confidence) for f in report.details)
        return run

    # ------------------------------------------------------------ lead: assign, return

    def assign(self, actor: str, submission: int, assessors: list[str]) -> SubmissionView:
        if len(assessors) != 2 or len(set(assessors)) != 2:
            raise InvalidInput(f"assign exactly two distinct assessors (got {', '.join(assessors) or 'none'})")
        with self._tx() as s:
            lead = self._actor(s, actor, "lead", "assign submissions")
            sub = self._submission(s, submission, lock=True)
            users = [self._assignable(s, name) for name in assessors]
            self._assign(s, lead, sub, users)
            return self._submission_view(s, sub)

    def auto_assign(self, actor: str, submission: int) -> SubmissionView:
        """Round robin: the two assessors with the fewest open assignments (then the least recently assigned)."""
        with self._tx() as s:
            lead = self._actor(s, actor, "lead", "assign submissions")
            sub = self._submission(s, submission, lock=True)
            self._assign(s, lead, sub, _least_loaded(s, 2))
            return self._submission_view(s, sub)

    def _assignable(self, s: Session, username: str) -> User:
        user = accounts.find_user(s, username)
        if user is None or not user.active:
            raise NotFound(f"no active assessor {username!r}: see `prescreen users add`")
        if user.role != "assessor":
            raise NotAllowed(f"{username} is a lead: a lead cannot score as an assessor; assign two assessors")
        return user

    def _assign(self, s: Session, lead: User, sub: Submission, users: list[User]) -> None:
        require_state(sub, "assign")
        if not self._snapshot(s, sub).detail_ids:
            raise InvalidTransition(f"{label(sub)} has no rubric details to score (it could not be screened): "
                                    "return it to the earner")
        for user in users:
            s.add(Assignment(submission_id=sub.id, assessor_id=user.id, assigned_by=lead.username))
            _audit(s, lead.username, "assign", sub.id, note=user.username)
        sub.state, sub.updated_at = "in_review", utcnow()
        s.flush()

    def return_to_earner(self, actor: str, submission: int, reason: str) -> SubmissionView:
        if not reason.strip():
            raise InvalidInput("say why it is returned: the earner reads the reason")
        with self._tx() as s:
            lead = self._actor(s, actor, "lead", "return submissions")
            sub = self._submission(s, submission, lock=True)
            require_state(sub, "return_to_earner")
            sub.state, sub.returned_reason, sub.updated_at = "returned", reason.strip(), utcnow()
            _audit(s, lead.username, "return", sub.id, note=reason.strip())
            return self._submission_view(s, sub)

    # ------------------------------------------------------------ assessor: open, decide, score, submit

    def open(self, actor: str, submission: int) -> AssessorView:
        with self._tx() as s:
            user = self._actor(s, actor, "assessor", "open an assessment (leads: lead_view)")
            sub = self._submission(s, submission)
            assignment = self._assignment(s, sub, user)
            _audit(s, actor, "open", sub.id)
            return self._assessor_view(s, sub, assignment)

    def decide(self, actor: str, submission: int, detail_id: str, action: str,
               new_status: str | None = None, reason: str = "") -> AssessorView:
        with self._tx() as s:
            sub, assignment = self._editable(s, actor, submission, "decide")
            self._write_decision(s, sub, assignment, detail_id, action, new_status, reason)
            return self._assessor_view(s, sub, assignment)

    def score(self, actor: str, submission: int, detail_id: str, score: str, feedback: str = "") -> AssessorView:
        _check_score(score, feedback)
        with self._tx() as s:
            sub, assignment = self._editable(s, actor, submission, "score")
            self._write_score(s, sub, assignment, detail_id, score, feedback)
            return self._assessor_view(s, sub, assignment)

    def save_detail(self, actor: str, submission: int, detail_id: str, *, action: str, new_status: str | None = None,
                    reason: str = "", score: str, feedback: str = "") -> AssessorView:
        """A detail's decision and score together, in one transaction: both are checked before anything is
        written, so when either is refused neither is stored."""
        _check_score(score, feedback)
        with self._tx() as s:
            sub, assignment = self._editable(s, actor, submission, "decide")
            require_state(sub, "score")
            self._write_decision(s, sub, assignment, detail_id, action, new_status, reason)
            self._write_score(s, sub, assignment, detail_id, score, feedback)
            return self._assessor_view(s, sub, assignment)

    def bulk_confirm(self, actor: str, submission: int, detail_ids: list[str]) -> AssessorView:
        """Confirms the drafted finding of each given detail not decided yet, in one transaction: one decision
        and one audit entry per detail. A detail already decided keeps its decision (an override is never undone
        by a bulk action); an unknown detail refuses the whole action."""
        wanted = list(dict.fromkeys(detail_ids))
        if not wanted:
            raise InvalidInput("choose the details to confirm: none was chosen")
        with self._tx() as s:
            sub, assignment = self._editable(s, actor, submission, "decide")
            for detail_id in wanted:
                self._snapshot(s, sub).finding(detail_id)  # NotFound before anything is written
            decided = _decisions(s, assignment)
            for detail_id in (d for d in wanted if d not in decided):
                self._write_decision(s, sub, assignment, detail_id, "confirm", None, "")
            return self._assessor_view(s, sub, assignment)

    def _write_decision(self, s: Session, sub: Submission, assignment: Assignment, detail_id: str, action: str,
                        new_status: str | None, reason: str) -> None:
        """Checks the decision against the drafted finding, then stores it; a confirmation keeps no reason."""
        drafted = self._snapshot(s, sub).finding(detail_id).status
        new_status = _check_decision(detail_id, drafted, action, new_status, reason)
        reason = reason.strip() if action == "override" else ""
        _upsert(s, Decision, {"assignment_id": assignment.id, "detail_id": detail_id},
                {"action": action, "new_status": new_status, "reason": reason, "updated_at": utcnow()})
        note = action + (f" -> {new_status}" if new_status else "")
        _audit(s, assignment.assessor.username, "decide", sub.id, detail_id, note=note)

    def _write_score(self, s: Session, sub: Submission, assignment: Assignment, detail_id: str, score: str,
                     feedback: str) -> None:
        self._snapshot(s, sub).finding(detail_id)
        _upsert(s, Score, {"assignment_id": assignment.id, "detail_id": detail_id},
                {"score": score, "feedback": feedback.strip(), "updated_at": utcnow()})
        _audit(s, assignment.assessor.username, "score", sub.id, detail_id, note=score)

    def submit(self, actor: str, submission: int, recommendation: str, comment: str = "") -> AssessorView:
        with self._tx() as s:
            sub, assignment = self._editable(s, actor, submission, "submit")
            decisions, scores = _decisions(s, assignment), _scores(s, assignment)
            _check_complete(self._snapshot(s, sub).detail_ids, decisions, scores)
            _check_recommendation(recommendation, scores)
            assignment.submitted_at, assignment.recommendation = utcnow(), recommendation
            assignment.comment = comment.strip()
            _audit(s, actor, "submit", sub.id, note=recommendation)
            s.flush()
            self._settle(s, sub, actor)
            return self._assessor_view(s, sub, assignment)

    def _editable(self, s: Session, actor: str, submission: int, action: str) -> tuple[Submission, Assignment]:
        """The submission (row locked) and the actor's assignment, if they may still change it."""
        user = self._actor(s, actor, "assessor", f"{action} details")
        sub = self._submission(s, submission, lock=True)
        assignment = self._assignment(s, sub, user)
        if assignment.submitted_at is not None:
            raise InvalidTransition(f"you submitted {label(sub)} already: no more changes")
        require_state(sub, action)
        return sub, assignment

    def _settle(self, s: Session, sub: Submission, actor: str) -> None:
        """After a submit: when both assessors are done, agreement is final, disagreement goes to the lead."""
        assignments = _assignments(s, sub)
        if len(assignments) < 2 or any(a.submitted_at is None for a in assignments):
            return
        agreed, disputed = compare(*(_scores(s, a) for a in assignments[:2]))
        if disputed:
            sub.state, sub.updated_at = "adjudication", utcnow()
            _audit(s, actor, "disputed", sub.id, note=", ".join(disputed))
        else:
            names = ", ".join(a.assessor.username for a in assignments)
            self._finalize(s, sub, agreed, "agreement", names, actor)

    def _finalize(self, s, sub: Submission, per_detail: dict, source: str, decided_by: str, actor: str) -> None:
        result = result_of(per_detail)
        s.add(FinalResult(submission_id=sub.id, result=result, per_detail_json=json.dumps(per_detail),
                          source=source, decided_by=decided_by))
        sub.state, sub.updated_at = "final", utcnow()
        _audit(s, actor, "finalize", sub.id, note=f"{result} ({source})")
        s.flush()

    # ------------------------------------------------------------ lead: adjudicate, views, audit

    def adjudicate(self, actor: str, submission: int, detail_id: str, score: str, feedback: str) -> SubmissionView:
        _check_score(score, feedback)
        with self._tx() as s:
            lead = self._actor(s, actor, "lead", "adjudicate")
            sub = self._submission(s, submission, lock=True)
            require_state(sub, "adjudicate")
            assignments = _assignments(s, sub)
            agreed, disputed = compare(*(_scores(s, a) for a in assignments[:2]))
            if detail_id not in disputed:
                raise InvalidInput(f"{detail_id} is not disputed: the disputed details are {', '.join(disputed)}")
            _upsert(s, Adjudication, {"submission_id": sub.id, "detail_id": detail_id},
                    {"score": score, "feedback": feedback.strip(), "lead": lead.username, "at": utcnow()})
            _audit(s, actor, "adjudicate", sub.id, detail_id, note=score)
            settled = _adjudications(s, sub)
            if set(disputed) <= settled.keys():
                per_detail = {d: agreed.get(d) or settled[d] for d in self._snapshot(s, sub).detail_ids}
                self._finalize(s, sub, per_detail, "adjudication", lead.username, actor)
            return self._submission_view(s, sub)

    def lead_view(self, actor: str, submission: int) -> LeadView:
        with self._tx() as s:
            self._actor(s, actor, "lead", "see the lead view")
            sub = self._submission(s, submission)
            _audit(s, actor, "open", sub.id, note="lead view")
            return self._lead_view(s, sub)

    def final_result(self, actor: str, submission: int) -> FinalResultView | None:
        """The lead, and the submission's assessors, may read it once it is recorded (None before). An assessor
        reads it blind: feedback masked, and who decided named by role, never by name."""
        with self._tx() as s:
            user = self._actor(s, actor)
            sub = self._submission(s, submission)
            if user.role == "lead":
                return _final_view(s, sub)
            self._assignment(s, sub, user)
            return self._blind_final(s, sub)

    def _blind_final(self, s: Session, sub: Submission) -> FinalResultView | None:
        final = _final_view(s, sub)
        if final is None:
            return None
        mask = self._snapshot(s, sub).mask
        per_detail = {d: (score, mask(feedback)) for d, (score, feedback) in final.per_detail.items()}
        return final.model_copy(update={"per_detail": per_detail, "decided_by": BLIND_DECIDED_BY[final.source]})

    def audit(self, actor: str, submission: int | None = None) -> list[AuditEntry]:
        with self._tx() as s:
            self._actor(s, actor, "lead", "read the audit log")
            query = select(AuditLog).order_by(AuditLog.id)
            if submission is not None:
                query = query.where(AuditLog.submission_id == submission)
            return [AuditEntry(at=aware(e.at), actor=e.actor, action=e.action, submission=e.submission_id,
                               detail=e.detail_id, note=e.note) for e in s.scalars(query)]

    # ------------------------------------------------------------ both roles: the queue

    def queue(self, actor: str) -> list[QueueItem]:
        """Assessor: own assignments; lead: all. Incomplete first, then ready, not ready, unscreenable; oldest first."""
        with self._tx() as s:
            user = self._actor(s, actor)
            if user.role == "lead":
                items = [self._lead_item(s, sub) for sub in s.scalars(select(Submission))]
            else:
                rows = s.execute(select(Assignment, Submission).join(Submission)
                                 .where(Assignment.assessor_id == user.id)).all()
                items = [self._assessor_item(s, sub, a) for a, sub in rows]
        return sorted(items, key=lambda i: (not i.incomplete, READINESS_ORDER.get(i.readiness, 3), -i.age_days))

    def _queue_item(self, sub: Submission, reasons: list[str], **fields) -> QueueItem:
        age = (utcnow() - aware(sub.created_at)).total_seconds() / 86400
        return QueueItem(submission=sub.id, label=label(sub), credential=sub.credential, readiness=sub.readiness,
                         incomplete=bool(reasons), incomplete_reasons=reasons, status=sub.state, age_days=age, **fields)

    def _assessor_item(self, s: Session, sub: Submission, assignment: Assignment) -> QueueItem:
        snap = self._snapshot(s, sub)
        reasons = [snap.mask(r) for r in json.loads(sub.incomplete_reasons)]
        return self._queue_item(sub, reasons, my_progress=_progress(s, assignment, len(snap.detail_ids)))

    def _lead_item(self, s: Session, sub: Submission) -> QueueItem:
        assignments = _assignments(s, sub)
        final = _final_view(s, sub)
        if final:
            progress = f"final: {final.result.replace('_', ' ')}"
        elif assignments:
            n = _detail_count(s, sub)
            progress = "; ".join(f"{a.assessor.username}: {_progress(s, a, n)}" for a in assignments)
        else:
            progress = sub.state.replace("_", " ")
        return self._queue_item(sub, json.loads(sub.incomplete_reasons), my_progress=progress,
                                assigned_to=[a.assessor.username for a in assignments])

    # ------------------------------------------------------------ loading and views

    def _submission(self, s: Session, submission: int, lock: bool = False) -> Submission:
        sub = s.get(Submission, submission, with_for_update=lock)
        if sub is None:
            raise NotFound(f"no submission #{submission}")
        return sub

    def _assignment(self, s: Session, sub: Submission, user: User) -> Assignment:
        assignment = s.scalar(select(Assignment).where(Assignment.submission_id == sub.id,
                                                       Assignment.assessor_id == user.id))
        if assignment is None:
            raise NotAllowed(f"{label(sub)} is not assigned to {user.username}: assessors see only their own")
        return assignment

    def _snapshot(self, s: Session, sub: Submission) -> _Snapshot:
        run_id = s.scalar(select(ScreeningRun.id).where(ScreeningRun.submission_id == sub.id)
                          .order_by(ScreeningRun.version.desc()).limit(1))
        with self._lock:
            snap = self._snapshots.get(run_id)
        if snap is None:
            snap = _Snapshot.load(s.get(ScreeningRun, run_id), self.deidentify)
            with self._lock:
                while len(self._snapshots) >= self.SNAPSHOTS_KEPT:
                    self._snapshots.pop(next(iter(self._snapshots)))
                self._snapshots[run_id] = snap
        return snap

    def _submission_view(self, s: Session, sub: Submission) -> SubmissionView:
        reasons = json.loads(sub.incomplete_reasons)
        runs = s.scalar(select(func.count(ScreeningRun.id)).where(ScreeningRun.submission_id == sub.id))
        return SubmissionView(
            id=sub.id, label=label(sub), code=sub.code, credential=sub.credential, attempt=sub.attempt,
            state=sub.state, readiness=sub.readiness, incomplete=bool(reasons), incomplete_reasons=reasons,
            assigned_to=[a.assessor.username for a in _assignments(s, sub)], previous=sub.previous_id,
            screening_runs=runs, returned_reason=sub.returned_reason, created_at=aware(sub.created_at),
        )

    def _view_fields(self, s: Session, sub: Submission, snap: _Snapshot, mask, decisions, scores) -> dict:
        return dict(
            submission=sub.id, label=label(sub), credential=sub.credential, attempt=sub.attempt, status=sub.state,
            rubric_title=snap.rubric.title if snap.rubric else snap.report.rubric_title,
            details=[detail_view(snap, f, mask, decisions.get(f.detail_id), scores.get(f.detail_id))
                     for f in snap.report.details],
            flags=flags(snap.report, mask), previous_attempt=self._previous_attempt(s, sub, snap, mask),
            artifacts=[ArtifactView(artifact_id=src.id, title=mask(src.title), kind=src.kind, role=src.role)
                       for src in snap.sources.values()],
        )

    def _assessor_view(self, s: Session, sub: Submission, assignment: Assignment) -> AssessorView:
        """Masked, and only the actor's own decisions and scores: blind to the earner and the other assessor."""
        snap = self._snapshot(s, sub)
        fields = self._view_fields(s, sub, snap, snap.mask, _decisions(s, assignment), _scores(s, assignment))
        return AssessorView(**fields, submitted=assignment.submitted_at is not None,
                            recommendation=assignment.recommendation, comment=snap.mask(assignment.comment))

    def _lead_view(self, s: Session, sub: Submission) -> LeadView:
        snap, assignments = self._snapshot(s, sub), _assignments(s, sub)
        both = len(assignments) == 2 and all(a.submitted_at is not None for a in assignments)
        scores = {a.assessor.username: _scores(s, a) for a in assignments} if both else {}
        decisions = {a.assessor.username: _decisions(s, a) for a in assignments} if both else {}
        fields = self._view_fields(s, sub, snap, _unmasked, {}, {})
        disputed, adjudications = compare(*scores.values())[1] if both else [], _adjudications(s, sub)
        return LeadView(
            **fields, submitted=both, earner=snap.manifest.earner if snap.manifest else None,
            incomplete_reasons=json.loads(sub.incomplete_reasons), returned_reason=sub.returned_reason,
            assessors=[_assessor_status(s, a) for a in assignments], assessor_scores=scores,
            assessor_decisions=decisions, disputed=disputed, adjudications=adjudications, final=_final_view(s, sub),
            adjudication=adjudication_items(fields["details"], disputed, decisions, scores, adjudications),
        )

    def _previous_attempt(self, s: Session, sub: Submission, snap: _Snapshot, mask) -> PreviousAttempt | None:
        if sub.previous_id is None:
            return None
        previous = s.get(Submission, sub.previous_id)
        before = {f.detail_id: f.status for f in self._snapshot(s, previous).report.details}
        final = _final_view(s, previous)
        per_detail = final.per_detail if final else {}
        return PreviousAttempt(
            submission=previous.id, attempt=previous.attempt, result=final.result if final else None,
            not_yet=[PreviousDetail(detail_id=d, feedback=mask(feedback))
                     for d, (score, feedback) in per_detail.items() if score == "not_yet"],
            previous_drafted_status=before,
            drafted_status_changed={f.detail_id: before[f.detail_id] != f.status
                                    for f in snap.report.details if f.detail_id in before},
        )


# ---------------------------------------------------------------- small queries and checks


def _audit(s: Session, actor: str, action: str, submission: int | None = None, detail: str | None = None,
           note: str = "") -> None:
    """Appends one entry, with the actor and the note capped (AUDIT_ACTOR_CHARS, AUDIT_NOTE_CHARS). There is no
    update, delete or replace path: the database refuses all three (triggers)."""
    s.add(AuditLog(actor=_capped(actor, AUDIT_ACTOR_CHARS), action=action, submission_id=submission,
                   detail_id=detail, note=_capped(note, AUDIT_NOTE_CHARS)))


def _capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _upsert(s: Session, model, keys: dict, values: dict) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE: two saves of the same detail never collide."""
    insert = postgresql_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(model).values(**keys, **values)
    s.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=values))


def _user_view(user: User) -> UserView:
    return UserView(username=user.username, role=user.role, display_name=user.display_name)


def _assignments(s: Session, sub: Submission) -> list[Assignment]:
    return list(s.scalars(select(Assignment).where(Assignment.submission_id == sub.id).order_by(Assignment.id)))


def _decisions(s: Session, assignment: Assignment) -> dict[str, tuple[str, str | None, str]]:
    rows = s.execute(select(Decision.detail_id, Decision.action, Decision.new_status, Decision.reason)
                     .where(Decision.assignment_id == assignment.id))
    return {detail: (action, status, reason) for detail, action, status, reason in rows}


def _scores(s: Session, assignment: Assignment) -> dict[str, tuple[str, str]]:
    rows = s.execute(select(Score.detail_id, Score.score, Score.feedback).where(Score.assignment_id == assignment.id))
    return {detail: (score, feedback) for detail, score, feedback in rows}



def _adjudications(s: Session, sub: Submission) -> dict[str, tuple[str, str]]:
    rows = s.execute(select(Adjudication.detail_id, Adjudication.score, Adjudication.feedback)
                     .where(Adjudication.submission_id == sub.id))
    return {detail: (score, feedback) for detail, score, feedback in rows}


def _final_view(s: Session, sub: Submission) -> FinalResultView | None:
    final = s.scalar(select(FinalResult).where(FinalResult.submission_id == sub.id))
    if final is None:
        return None
    return FinalResultView(
        result=final.result, per_detail={d: tuple(v) for d, v in json.loads(final.per_detail_json).items()},
        decided_by=final.decided_by, decided_at=aware(final.decided_at), source=final.source,
    )


def _detail_count(s: Session, sub: Submission) -> int:
    latest = (select(ScreeningRun.id).where(ScreeningRun.submission_id == sub.id)
              .order_by(ScreeningRun.version.desc()).limit(1).scalar_subquery())
    return s.scalar(select(func.count(Finding.id)).where(Finding.run_id == latest)) or 0


def _progress(s: Session, assignment: Assignment, n: int) -> str:
    if assignment.submitted_at is not None:
        return "submitted"
    decided = s.scalar(select(func.count(Decision.id)).where(Decision.assignment_id == assignment.id))
    scored = s.scalar(select(func.count(Score.id)).where(Score.assignment_id == assignment.id))
    return f"{decided}/{n} decided, {scored}/{n} scored"


def _assessor_status(s: Session, assignment: Assignment) -> AssessorStatus:
    user = assignment.assessor
    return AssessorStatus(
        username=user.username, display_name=user.display_name, submitted=assignment.submitted_at is not None,
        submitted_at=aware(assignment.submitted_at), recommendation=assignment.recommendation,
        decided=len(_decisions(s, assignment)), scored=len(_scores(s, assignment)),
    )


def _least_loaded(s: Session, how_many: int) -> list[User]:
    """Active assessors with the fewest open (unsubmitted) assignments; ties: least recently assigned, then name."""
    open_count = func.sum(case((Assignment.id.is_not(None) & Assignment.submitted_at.is_(None), 1), else_=0))
    rows = s.execute(
        select(User, open_count, func.max(Assignment.assigned_at))
        .outerjoin(Assignment, Assignment.assessor_id == User.id)
        .where(User.role == "assessor", User.active).group_by(User.id)
    ).all()
    if len(rows) < how_many:
        raise InvalidTransition(f"auto-assign needs {how_many} active assessors, there are {len(rows)}: "
                                "add some with `prescreen users add NAME --role assessor`")
    rows.sort(key=lambda r: (r[1] or 0, aware(r[2]) or _EPOCH, r[0].username))
    return [user for user, _, _ in rows[:how_many]]


def _previous_attempt_of(s: Session, code: str, credential: str, key: str | None, attempt: int) -> Submission | None:
    """The latest earlier attempt at the same credential by the same earner (e-mail) or with the same id."""
    same_earner = Submission.code == code if key is None else (Submission.code == code) | (Submission.earner_key == key)
    return s.scalar(select(Submission).where(same_earner, Submission.credential == credential,
                                             Submission.attempt < attempt)
                    .order_by(Submission.attempt.desc(), Submission.id.desc()).limit(1))


def _check_same_earner(s: Session, sub: Submission, manifest: Manifest | None) -> None:
    """InvalidInput when the bundle's earner is not the submission's: the same submission_id from another
    earner is never a re-ingest or a next attempt (nothing is changed; the transaction is rolled back)."""
    manifest_json = s.scalar(select(ScreeningRun.manifest_json).where(ScreeningRun.submission_id == sub.id)
                             .order_by(ScreeningRun.version.desc()).limit(1))
    if manifest is None or manifest_json is None:
        return
    if _different_earners(Manifest.model_validate_json(manifest_json).earner, manifest.earner):
        raise InvalidInput(f"{label(sub)} belongs to another earner: this bundle names a different earner under "
                           "the same submission_id, so it was not ingested and the queue is unchanged; check "
                           "submission_id in its submission.yaml")


def _different_earners(first: Earner, second: Earner) -> bool:
    """Nothing identifies them as one person: every field given on both sides (e-mail, name) differs.

    An earner who changed e-mail keeps the name, and the other way round; both changed is another earner."""
    fold = lambda text: " ".join(text.split()).casefold()  # noqa: E731
    pairs = [(a, b) for a, b in ((first.email, second.email), (first.name, second.name)) if a and b]
    return bool(pairs) and all(fold(a) != fold(b) for a, b in pairs)


def _check_previous(s: Session, previous: Submission, attempt: int) -> None:
    if previous.state not in ("final", "returned"):
        raise InvalidTransition(f"{label(previous)} is still {previous.state}: attempt {attempt} can be "
                                "ingested once the earlier attempt has a final result")
    final = _final_view(s, previous)
    if final is not None and final.result == "earned":
        raise InvalidTransition(f"{label(previous)} earned the credential already: no further attempt is needed")


def _check_decision(detail_id: str, drafted: str, action: str, new_status: str | None, reason: str) -> str | None:
    """The status to store with the decision (None for a confirmation), or InvalidInput."""
    if action == "confirm":
        if new_status not in (None, drafted):
            raise InvalidInput(f"confirm keeps the drafted status ({drafted}) of {detail_id}: use override to change it")
        return None
    if action != "override":
        raise InvalidInput(f"unknown action {action!r}: use confirm or override")
    if new_status not in DRAFT_STATUSES or new_status == drafted:
        others = [x for x in DRAFT_STATUSES if x != drafted]
        raise InvalidInput(f"an override of {detail_id} needs a new status other than {drafted}: {' or '.join(others)}")
    if not reason.strip():
        raise InvalidInput(f"an override of {detail_id} needs a reason")
    return new_status


def _check_score(score: str, feedback: str) -> None:
    if score not in SCORES:
        raise InvalidInput(f"unknown score {score!r}: use demonstrated or not_yet")
    if score == "not_yet" and not feedback.strip():
        raise InvalidInput("a \"not yet\" score needs feedback for the earner: say what is missing and how to "
                           "show it")


def _check_complete(detail_ids: list[str], decisions: dict, scores: dict) -> None:
    undecided = [d for d in detail_ids if d not in decisions]
    unscored = [d for d in detail_ids if d not in scores]
    if undecided or unscored:
        missing = [f"not decided: {', '.join(undecided)}"] if undecided else []
        missing += [f"not scored: {', '.join(unscored)}"] if unscored else []
        raise InvalidTransition(f"cannot submit yet: every detail needs a decision and a score ({'; '.join(missing)})")


def _check_recommendation(recommendation: str, scores: dict[str, tuple[str, str]]) -> None:
    all_demonstrated = all(score == "demonstrated" for score, _ in scores.values())
    if recommendation not in ("earned", "not_yet"):
        raise InvalidInput(f"unknown recommendation {recommendation!r}: use earned or not_yet")
    if (recommendation == "earned") != all_demonstrated:
        raise InvalidInput("the recommendation must follow the scores: earned when every detail is demonstrated, "
                           "otherwise not_yet")


class _LazyScreener:
    """The default screen callable: builds the Screener (embedder, index, drafter) on the first ingest."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._screener = None
        self._lock = threading.Lock()

    def __call__(self, path: Path) -> Screening:
        with self._lock:
            if self._screener is None:
                from prescreen.llm import make_drafter
                from prescreen.pipeline import Screener

                self._screener = Screener(self.settings, drafter=make_drafter(self.settings, "auto"))
        return self._screener.screen(path)
