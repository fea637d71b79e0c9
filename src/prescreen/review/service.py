"""ReviewService: the workflow's actions, each one short transaction that checks who may act, enforces the
rules (review/rules.py), writes, appends to the audit log and returns what the actor may see
(review/reading.py). The UI and the CLI are thin edges over it; nothing here imports gradio.

One submission goes: ingest (screened, pre-checked) -> `incomplete` or `awaiting_assignment` -> two assessors
score it blind (`in_review`) -> agreement gives a `final` result at once; disagreement goes to the lead
(`adjudication`), whose scores settle the disputed details -> `final`. An incomplete submission can be
`returned` to the earner without a full review (and ingested again once fixed), or assigned anyway.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from prescreen.errors import BundleError
from prescreen.review import accounts, anchoring, calibration
from prescreen.review import queries as q
from prescreen.review.blind import Deidentify, Snapshots, default_deidentify
from prescreen.review.db import (
    Adjudication,
    Assignment,
    AuditLog,
    Decision,
    FinalResult,
    Finding,
    Score,
    ScreeningRun,
    Submission,
    User,
    aware,
    utcnow,
)
from prescreen.review.errors import AuthError, InvalidInput, InvalidTransition, NotAllowed, NotFound
from prescreen.review.program import ProgramSettings
from prescreen.review.reading import Reader
from prescreen.review.rules import (
    MAX_ATTEMPTS,
    READINESS_ORDER,
    Action,
    ScoreView,
    check_decision,
    check_recommendation,
    check_score,
    compare,
    earner_key,
    label,
    not_ingested,
    precheck,
    require_state,
    result_of,
)
from prescreen.review.views import (
    AssessorView,
    AuditEntry,
    FinalResultView,
    LeadView,
    PlaceView,
    QueueItem,
    SourceView,
    SubmissionView,
    UserView,
    user_view,
)

if TYPE_CHECKING:
    from prescreen.pipeline import Progress, Screening
    from prescreen.settings import Settings

STORING = "storing the submission"  # ingest's last step, after the pipeline's


log = logging.getLogger("prescreen.review")


class ReviewService:
    """The workflow over a database. `screen` screens a bundle path; `deidentify(text, names)` masks text."""

    def __init__(
        self,
        session_factory: sessionmaker,
        screen: Callable[..., Screening],  # (path) or (path, progress): see ingest
        deidentify: Deidentify | None = None,
        *,
        passwords: accounts.Passwords | None = None,
        throttle: accounts.LoginThrottle | None = None,
        program: ProgramSettings | None = None,
        mask_ahead: bool = False,
    ):
        self.sessions = session_factory
        self.screen = screen
        self.deidentify = deidentify or default_deidentify()
        self.passwords = passwords or accounts.Passwords()
        self.throttle = throttle or accounts.LoginThrottle()
        self.program = program or ProgramSettings()  # calibration and the anchoring check (from_settings reads them)
        self.snapshots = Snapshots(self.deidentify)
        self.reader = Reader(self.snapshots)
        self.mask_ahead = mask_ahead  # assigning masks in the background what assessors open first (the app's)

    @classmethod
    def from_settings(cls, settings: Settings) -> ReviewService:
        """The database from settings (SQLite in the data dir by default), migrated; the default Screener."""
        from prescreen.review.wiring import LazyScreener, migrated_sessions

        return cls(migrated_sessions(settings), screen=LazyScreener(settings),
                   program=ProgramSettings.from_settings(settings), mask_ahead=True)

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
            q.audit(s, actor, "create_user", note=f"{username} ({role})")
            return user_view(user)

    def add_account(self, actor: str, username: str, password: str, role: str, display_name: str = "") -> UserView:
        """A lead creates an account (an earner, an assessor, another lead), recorded under the lead's name."""
        with self._tx() as s:
            self._actor(s, actor, "lead", "create accounts")
        return self.create_user(username, password, role, display_name, actor=actor)

    def accounts(self, actor: str) -> list[UserView]:
        """Every account, for a lead: username, role and display name (never a password hash)."""
        with self._tx() as s:
            self._actor(s, actor, "lead", "list accounts")
            return [user_view(u) for u in s.scalars(select(User).order_by(User.role, User.username))]

    def authenticate(self, username: str, password: str, address: str | None = None) -> UserView:
        """The user, when the password is theirs. Failed attempts are throttled per username and per address
        (`address`: the client's, when the edge knows it) with a delay that grows; the log keeps a capped name."""
        logged = accounts.logged_username(username)
        if (wait := self.throttle.wait_s(username, address)) > 0:
            with self._tx() as s:
                q.audit(s, logged, "login_throttled", note=address or "")
            raise AuthError(f"too many failed sign-ins: wait {math.ceil(wait)} s and try again")
        with self._tx() as s:
            user = accounts.find_user(s, username)
            ok = self.passwords.check(user, password)
            q.audit(s, logged, "login" if ok else "login_failed", note=address or "")
            view = user_view(user) if ok and user else None
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
            return user_view(user)

    def assessors(self) -> list[UserView]:
        with self._tx() as s:
            users = s.scalars(select(User).where(User.role == "assessor", User.active).order_by(User.username))
            return [user_view(u) for u in users]

    def leads(self) -> list[UserView]:
        """Added: the active leads."""
        with self._tx() as s:
            users = s.scalars(select(User).where(User.role == "lead", User.active).order_by(User.username))
            return [user_view(u) for u in users]

    def _actor(self, s: Session, username: str, role: str | None = None, doing: str = "do this") -> User:
        user = accounts.find_user(s, username)
        if user is None or not user.active:
            raise AuthError(f"{username!r} is not a known, active user: sign in again")
        if role and user.role != role:
            raise NotAllowed(f"{username} is {'an' if user.role[0] in 'aeiou' else 'a'} {user.role}: "
                             f"only {role}s may {doing}")
        return user

    # ------------------------------------------------------------ lead: ingest

    def ingest(self, actor: str, bundle: Path, progress: Progress | None = None) -> SubmissionView:
        """Screen the bundle, then store submission, run, findings and audit entry in one transaction.

        `progress` is told each step by name: the pipeline's (see pipeline.Screener.screen), then STORING."""
        bundle = Path(bundle)
        with self._tx() as s:
            self._actor(s, actor, "lead", "ingest bundles")
        screening = self._screen(actor, bundle, progress)  # seconds: no transaction is open meanwhile
        if progress:
            progress(STORING)
        try:
            with self._tx() as s:
                lead = self._actor(s, actor, "lead", "ingest bundles")
                sub = self._store(s, lead, screening, str(bundle))
                return self.reader.submission_view(s, sub)
        except IntegrityError as exc:  # the same new submission, ingested by someone else at this very moment
            raise InvalidTransition(f"{bundle.name} was ingested by another action at the same moment: "
                                    "ingest it again to add a screening run") from exc

    def _screen(self, actor: str, bundle: Path, progress: Progress | None = None) -> Screening:
        """The screening, or InvalidInput when the bundle cannot be screened at all (not a zip, no manifest,
        unknown credential, hostile zip): such a bundle never becomes a submission, and the audit log says it
        was refused. Messages name the file, never a path on the server."""
        try:
            screening = self.screen(bundle, progress) if progress else self.screen(bundle)
            problem = screening.report.message or "it cannot be screened"
        except BundleError as exc:
            screening, problem = None, str(exc)
        if screening is not None and screening.report.readiness != "unscreenable":
            return screening
        refused = not_ingested(bundle, problem)
        with self._tx() as s:
            q.audit(s, actor, "ingest_refused", note=refused)
        raise InvalidInput(refused)

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
            q.check_same_earner(s, sub, manifest)
            require_state(sub, "ingest_again")
        run = self._add_run(s, sub, screening, manifest)
        sub.state, sub.readiness, sub.returned_reason = state, screening.report.readiness, None
        sub.incomplete_reasons, sub.origin, sub.updated_at = json.dumps(reasons), origin, utcnow()
        q.audit(s, lead.username, "ingest", sub.id, note=f"screening run {run.version}: {state}")
        return sub

    def _new_submission(self, s, screening, manifest, code: str, attempt: int, state: str) -> Submission:
        key = earner_key(manifest)
        credential = screening.report.credential or (manifest.credential if manifest else "")
        previous = q.previous_attempt_of(s, code, credential, key, attempt) if attempt > 1 else None
        if previous is not None:
            q.check_same_earner(s, previous, manifest)
            q.check_previous(s, previous, attempt)
        sub = Submission(code=code, credential=credential, attempt=attempt, earner_key=key, state=state,
                         readiness=screening.report.readiness, previous_id=previous.id if previous else None)
        s.add(sub)
        s.flush()
        return sub

    def _add_run(self, s: Session, sub: Submission, screening: Screening, manifest) -> ScreeningRun:
        report, rubric = screening.report, screening.rubric
        latest = s.scalar(select(func.max(ScreeningRun.version)).where(ScreeningRun.submission_id == sub.id))
        version = (latest or 0) + 1
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
            view = self.reader.submission_view(s, sub)
        if self.mask_ahead:
            self.warm_in_background([submission])
        return view

    def auto_assign(self, actor: str, submission: int) -> SubmissionView:
        """Round robin: the two assessors with the fewest open assignments (then the least recently assigned)."""
        with self._tx() as s:
            lead = self._actor(s, actor, "lead", "assign submissions")
            sub = self._submission(s, submission, lock=True)
            self._assign(s, lead, sub, calibration.live_assessors(s, self.program.calibration, 2))
            view = self.reader.submission_view(s, sub)
        if self.mask_ahead:
            self.warm_in_background([submission])
        return view

    def warm_in_background(self, submissions: list[int] | None = None) -> threading.Thread:
        """Mask ahead, in a daemon thread, what assessors will first open: the given submissions, or all in review
        (the app does this at start). Masking runs the NER model, about a second a submission; a failure here
        only means the first opening masks as it goes."""
        def run() -> None:
            try:
                with self._tx() as s:  # short: the masking runs after it, holding no lock on the database
                    ids = submissions or list(s.scalars(select(Submission.id).where(Submission.state == "in_review")))
                    snaps = [self.snapshots.latest(s, self._submission(s, sub_id)) for sub_id in ids]
                for snap in snaps:
                    self.reader.warm(snap)
            except Exception:  # noqa: BLE001 - best effort: the opening itself masks what is missing
                log.warning("could not mask submissions %s ahead of time", submissions or "in review", exc_info=True)

        thread = threading.Thread(target=run, name="prescreen-warm", daemon=True)
        thread.start()
        return thread

    def _assignable(self, s: Session, username: str) -> User:
        user = accounts.find_user(s, username)
        if user is None or not user.active:
            raise NotFound(f"no active assessor {username!r}: see `prescreen users add`")
        if user.role != "assessor":
            raise NotAllowed(f"{username} is a lead: a lead cannot score as an assessor; assign two assessors")
        return user

    def _assign(self, s: Session, lead: User, sub: Submission, users: list[User]) -> None:
        require_state(sub, "assign")
        calibration.check_live(s, sub, users, self.program.calibration)
        if not self.snapshots.latest(s, sub).detail_ids:
            raise InvalidTransition(f"{label(sub)} has no rubric details to score (it could not be screened): "
                                    "return it to the earner")
        for user in users:
            s.add(Assignment(submission_id=sub.id, assessor_id=user.id, assigned_by=lead.username))
            q.audit(s, lead.username, "assign", sub.id, note=user.username)
        sub.state, sub.updated_at = "in_review", utcnow()
        s.flush()
        anchoring.hide_draft(s, sub, self.program.anchoring, lead.username)

    def return_to_earner(self, actor: str, submission: int, reason: str) -> SubmissionView:
        if not reason.strip():
            raise InvalidInput("say why it is returned: the earner reads the reason")
        with self._tx() as s:
            lead = self._actor(s, actor, "lead", "return submissions")
            sub = self._submission(s, submission, lock=True)
            require_state(sub, "return_to_earner")
            sub.state, sub.returned_reason, sub.updated_at = "returned", reason.strip(), utcnow()
            q.audit(s, lead.username, "return", sub.id, note=reason.strip())
            return self.reader.submission_view(s, sub)

    # ------------------------------------------------------------ assessor: open, decide, score, submit

    def open(self, actor: str, submission: int) -> AssessorView:
        with self._tx() as s:
            user = self._actor(s, actor, "assessor", "open an assessment (leads: lead_view)")
            sub = self._submission(s, submission)
            assignment = self._assignment(s, sub, user)
            q.audit(s, actor, "open", sub.id)
            return self.reader.assessor_view(s, sub, assignment)

    def cited_place(self, actor: str, submission: int, detail_id: str, index: int) -> PlaceView:
        """The whole page, paragraph or transcript stretch the detail's `index`-th citation points to, masked,
        with the quote's span: for the submission's assessors, as open()."""
        with self._tx() as s:
            user = self._actor(s, actor, "assessor", "read a cited page (leads: lead_view)")
            sub = self._submission(s, submission)
            return self.reader.cited_place(s, sub, self._assignment(s, sub, user), detail_id, index)

    def read_source(self, actor: str, submission: int, source_id: str, place: str | None = None) -> SourceView:
        """A whole artifact or part of the submission (`source_id`), masked as everything an assessor reads, split
        by its pages, paragraphs or transcript cues; `place` (a locator: "p. 3", "para 12", "4:10") marks where to
        read. For the submission's assessors, as open(), with or without the AI draft."""
        with self._tx() as s:
            user = self._actor(s, actor, "assessor", "read a submission's files (leads: lead_view)")
            sub = self._submission(s, submission)
            self._assignment(s, sub, user)
            return self.reader.read_source(s, sub, source_id, place)

    def decide(self, actor: str, submission: int, detail_id: str, action: str,
               new_status: str | None = None, reason: str = "") -> AssessorView:
        with self._tx() as s:
            sub, assignment = self._editable(s, actor, submission, "decide")
            self._write_decision(s, sub, assignment, detail_id, action, new_status, reason)
            return self.reader.assessor_view(s, sub, assignment)

    def score(self, actor: str, submission: int, detail_id: str, score: str, feedback: str = "") -> AssessorView:
        check_score(score, feedback)
        with self._tx() as s:
            sub, assignment = self._editable(s, actor, submission, "score")
            self._write_score(s, sub, assignment, detail_id, score, feedback)
            return self.reader.assessor_view(s, sub, assignment)

    def save_detail(self, actor: str, submission: int, detail_id: str, *, action: str, new_status: str | None = None,
                    reason: str = "", score: str, feedback: str = "") -> AssessorView:
        """A detail's decision and score together, in one transaction: both are checked before anything is
        written, so when either is refused neither is stored."""
        check_score(score, feedback)
        with self._tx() as s:
            sub, assignment = self._editable(s, actor, submission, "decide")
            calibration.require_state(sub, assignment, "score")
            self._write_decision(s, sub, assignment, detail_id, action, new_status, reason)
            self._write_score(s, sub, assignment, detail_id, score, feedback)
            return self.reader.assessor_view(s, sub, assignment)

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
                self.snapshots.latest(s, sub).finding(detail_id)  # NotFound before anything is written
            decided = q.decisions(s, assignment)
            for detail_id in (d for d in wanted if d not in decided):
                self._write_decision(s, sub, assignment, detail_id, "confirm", None, "")
            return self.reader.assessor_view(s, sub, assignment)

    def _write_decision(self, s: Session, sub: Submission, assignment: Assignment, detail_id: str, action: str,
                        new_status: str | None, reason: str) -> None:
        """Checks the decision against the drafted finding, then stores it; a confirmation keeps no reason."""
        if not anchoring.keeps_decision(assignment):
            return  # the anchoring check hid the draft from this assessor: nothing to confirm or override
        drafted = self.snapshots.latest(s, sub).finding(detail_id).status
        new_status = check_decision(detail_id, drafted, action, new_status, reason)
        reason = reason.strip() if action == "override" else ""
        q.upsert(s, Decision, {"assignment_id": assignment.id, "detail_id": detail_id},
                {"action": action, "new_status": new_status, "reason": reason, "updated_at": utcnow()})
        note = action + (f" -> {new_status}" if new_status else "")
        q.audit(s, assignment.assessor.username, "decide", sub.id, detail_id, note=note)

    def _write_score(self, s: Session, sub: Submission, assignment: Assignment, detail_id: str, score: str,
                     feedback: str) -> None:
        self.snapshots.latest(s, sub).finding(detail_id)
        q.upsert(s, Score, {"assignment_id": assignment.id, "detail_id": detail_id},
                {"score": score, "feedback": feedback.strip(), "updated_at": utcnow()})
        q.audit(s, assignment.assessor.username, "score", sub.id, detail_id, note=score)

    def submit(self, actor: str, submission: int, recommendation: str, comment: str = "") -> AssessorView:
        with self._tx() as s:
            sub, assignment = self._editable(s, actor, submission, "submit")
            decisions, scores = q.decisions(s, assignment), q.scores(s, assignment)
            anchoring.check_complete(assignment, self.snapshots.latest(s, sub).detail_ids, decisions, scores)
            check_recommendation(recommendation, scores)
            assignment.submitted_at, assignment.recommendation = utcnow(), recommendation
            assignment.comment = comment.strip()
            q.audit(s, actor, "submit", sub.id, note=recommendation)
            s.flush()
            if not assignment.gold:  # a gold review never settles the submission (calibration.py)
                self._settle(s, sub, actor)
            return self.reader.assessor_view(s, sub, assignment)

    def _editable(self, s: Session, actor: str, submission: int, action: Action) -> tuple[Submission, Assignment]:
        """The submission (row locked) and the actor's assignment, if they may still change it."""
        user = self._actor(s, actor, "assessor", f"{action} details")
        sub = self._submission(s, submission, lock=True)
        assignment = self._assignment(s, sub, user)
        if assignment.submitted_at is not None:
            raise InvalidTransition(f"you submitted {label(sub)} already: no more changes")
        calibration.require_state(sub, assignment, action)
        return sub, assignment

    def _settle(self, s: Session, sub: Submission, actor: str) -> None:
        """After a submit: when both assessors are done, agreement is final, disagreement goes to the lead."""
        assignments = q.assignments(s, sub)
        if len(assignments) < 2 or any(a.submitted_at is None for a in assignments):
            return
        agreed, disputed = compare(*(q.scores(s, a) for a in assignments[:2]))
        if disputed:
            sub.state, sub.updated_at = "adjudication", utcnow()
            q.audit(s, actor, "disputed", sub.id, note=", ".join(disputed))
        else:
            names = ", ".join(a.assessor.username for a in assignments)
            self._finalize(s, sub, agreed, "agreement", names, actor)

    def _finalize(self, s, sub: Submission, per_detail: dict[str, ScoreView], source: str, decided_by: str,
                  actor: str) -> None:
        result = result_of(per_detail)
        s.add(FinalResult(submission_id=sub.id, result=result, per_detail_json=q.per_detail_json(per_detail),
                          source=source, decided_by=decided_by))
        sub.state, sub.updated_at = "final", utcnow()
        q.audit(s, actor, "finalize", sub.id, note=f"{result} ({source})")
        s.flush()

    # ------------------------------------------------------------ lead: adjudicate, views, audit

    def adjudicate(self, actor: str, submission: int, detail_id: str, score: str, feedback: str) -> SubmissionView:
        check_score(score, feedback)
        with self._tx() as s:
            lead = self._actor(s, actor, "lead", "adjudicate")
            sub = self._submission(s, submission, lock=True)
            require_state(sub, "adjudicate")
            assignments = q.assignments(s, sub)
            agreed, disputed = compare(*(q.scores(s, a) for a in assignments[:2]))
            if detail_id not in disputed:
                raise InvalidInput(f"{detail_id} is not disputed: the disputed details are {', '.join(disputed)}")
            q.upsert(s, Adjudication, {"submission_id": sub.id, "detail_id": detail_id},
                    {"score": score, "feedback": feedback.strip(), "lead": lead.username, "at": utcnow()})
            q.audit(s, actor, "adjudicate", sub.id, detail_id, note=score)
            settled = q.adjudications(s, sub)
            if set(disputed) <= settled.keys():
                per_detail = {d: agreed.get(d) or settled[d] for d in self.snapshots.latest(s, sub).detail_ids}
                self._finalize(s, sub, per_detail, "adjudication", lead.username, actor)
            return self.reader.submission_view(s, sub)

    def lead_view(self, actor: str, submission: int) -> LeadView:
        with self._tx() as s:
            self._actor(s, actor, "lead", "see the lead view")
            sub = self._submission(s, submission)
            q.audit(s, actor, "open", sub.id, note="lead view")
            return self.reader.lead_view(s, sub)

    def final_result(self, actor: str, submission: int) -> FinalResultView | None:
        """The lead, and the submission's assessors, may read it once it is recorded (None before). An assessor
        reads it blind: feedback masked, and who decided named by role, never by name."""
        with self._tx() as s:
            user = self._actor(s, actor)
            sub = self._submission(s, submission)
            if user.role == "lead":
                return q.final_view(s, sub)
            gold_review = self._assignment(s, sub, user).gold
            return None if gold_review else self.reader.blind_final(s, sub)


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
            user, now = self._actor(s, actor), utcnow()
            if user.role == "lead":
                live = select(Submission).where(Submission.id.not_in(calibration.gold_ids()))
                items = [self.reader.lead_item(s, sub, now) for sub in s.scalars(live)]
            else:
                rows = s.execute(select(Assignment, Submission).join(Submission)
                                 .where(Assignment.assessor_id == user.id)).all()
                items = [self.reader.assessor_item(s, sub, a, now) for a, sub in rows]
        return sorted(items, key=lambda i: (not i.incomplete, READINESS_ORDER.get(i.readiness, 3), -i.age_days))




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
