"""The lead's audit on a generated review database: 5,000 submissions with two assessors each.

    python benchmarks/audit_bench.py [--submissions 5000] [--repeat 3] [--postgres URL] [--no-sqlite]

The database is made at the latest schema (Alembic) and filled with bulk inserts through the SQLAlchemy models,
not through the pipeline or the ReviewService: users (a lead, 20 assessors), submissions in every state over a
year (mostly final; some attempt 2 linked to a not-yet-earned attempt 1), screening runs with payloads the size
of real ones (report, sources, manifest, rubric JSON; 10% screened twice), a drafted finding per rubric detail,
two assessors' decisions (overrides with reasons where their score departs from the draft) and scores, the
lead's adjudications of disputed details, final results, and an audit log as long as the workflow writes.

SQLite in a temporary folder always (unless --no-sqlite); PostgreSQL too when --postgres or
PRESCREEN_TEST_POSTGRES_URL names a server: a new database there, dropped afterwards. Prints the rows written,
the time to generate them, and the median of --repeat runs of: load_facts (the queries alone), build_audit
(everything; one credential; a quarter's dates), the rubric lint over it, and the HTML report with its plots.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

from prescreen.audit import AuditFilter, build_audit, load_facts
from prescreen.audit.html import render_html
from prescreen.audit.lint import lint_audit
from prescreen.models import Rubric
from prescreen.review.db import (
    Adjudication,
    Assignment,
    AuditLog,
    Base,
    Decision,
    FinalResult,
    Finding,
    Score,
    ScreeningRun,
    Submission,
    User,
    make_engine,
    session_factory,
    upgrade,
)
from prescreen.rubrics import RubricLibrary

START = datetime(2025, 9, 1, tzinfo=UTC)
CREDENTIALS = (("leading-an-equitable-learning-culture", 0.7), ("el-education-leadership-core-practices", 0.3))
STATES = (("final", 0.80), ("in_review", 0.06), ("adjudication", 0.04), ("awaiting_assignment", 0.03),
          ("incomplete", 0.04), ("returned", 0.03))
DRAFTED_GIVEN = {"demonstrated": (0.8, 0.15, 0.05), "not_yet": (0.2, 0.4, 0.4)}  # evidenced, weak, missing
EARNED_SHARE = 0.45  # submissions whose every detail is demonstrated
RESUBMITTED = 0.3  # not-yet-earned finals that come back as attempt 2
ASSESSORS = 20
REASONS = {"evidenced": ("The sign-in sheet and the dated notes show it done.", "The data table shows it by group."),
           "weak": ("The cited passage is a plan; nothing shows it carried out.", "Only the narrative claims it.")}
INCOMPLETE = ("part reflection below its word minimum (500)", "artifacts/scan.pdf: no text", "artifacts/video.mp4: "
              "unsupported type")
WORDS = ("equity", "students", "data", "staff", "meeting", "plan", "family", "goal", "survey", "grade", "teacher")


# ---------------------------------------------------------------- generating the rows


@dataclass
class Rows:
    """Every table's rows as dicts, with the ids set here so rows refer to each other before insertion."""

    tables: dict[type[Base], list[dict[str, Any]]] = field(default_factory=dict)
    next_id: dict[type[Base], int] = field(default_factory=dict)

    def add(self, model: type[Base], **row: Any) -> int:
        row["id"] = self.next_id[model] = self.next_id.get(model, 0) + 1
        self.tables.setdefault(model, []).append(row)
        return row["id"]

    def count(self) -> int:
        return sum(map(len, self.tables.values()))


def filler(rng: random.Random, kilobytes: int) -> str:
    """JSON of about `kilobytes` KB of words (compressible like real text, not like one repeated letter)."""
    words = " ".join(rng.choice(WORDS) for _ in range(kilobytes * 150))
    return json.dumps({"text": words})


class Generator:
    """A year of reviews, drawn from a seeded random generator."""

    def __init__(self, seed: int = 7):
        self.rng = random.Random(seed)
        self.rows = Rows()
        library = RubricLibrary()
        self.rubrics = {cid: library.get(cid) for cid, _ in CREDENTIALS}
        self.rubric_json = {cid: r.model_dump_json() for cid, r in self.rubrics.items()}
        self.payload = {name: filler(self.rng, kb) for name, kb in (("report", 20), ("sources", 50), ("manifest", 5))}
        self.lead = self.rows.add(User, username="lead", password_hash="x", role="lead", display_name="Lead")
        self.assessors = {self.rows.add(User, username=f"assessor{n:02d}", password_hash="x", role="assessor",
                                        display_name=""): f"assessor{n:02d}" for n in range(1, ASSESSORS + 1)}
        self.noise = {a: self.rng.uniform(0.02, 0.10) for a in self.assessors}  # how often each one misjudges
        self.retry: list[tuple[int, str, str]] = []  # (submission, code, credential) not yet earned

    def pick(self, weighted: tuple[tuple[str, float], ...]) -> str:
        return self.rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]

    def generate(self, submissions: int) -> Rows:
        for n in range(submissions):
            self.submission(n, START + timedelta(days=365 * n / submissions, hours=self.rng.uniform(0, 24)))
        return self.rows

    def submission(self, n: int, created: datetime) -> None:
        state = self.pick(STATES)
        previous = self.retry.pop(0) if self.retry and self.rng.random() < 0.5 else None
        credential = previous[2] if previous else self.pick(CREDENTIALS)
        reasons = [self.rng.choice(INCOMPLETE)] if state in ("incomplete", "returned") else []
        sub = self.rows.add(Submission, code=previous[1] if previous else f"S-2026-{n:05d}", credential=credential,
                            attempt=2 if previous else 1, previous_id=previous[0] if previous else None, state=state,
                            readiness="not_ready" if reasons else "ready", incomplete_reasons=json.dumps(reasons),
                            returned_reason=reasons[0] if state == "returned" else None, created_at=created,
                            updated_at=created, earner_key=uuid.UUID(int=self.rng.getrandbits(128)).hex)
        truth = self.truth(self.rubrics[credential])
        drafted = self.runs(sub, credential, truth, created)
        self.log(sub, "ingest", created)
        if state == "returned":
            self.log(sub, "return", created + timedelta(hours=2), note=f"Returned as incomplete: {reasons[0]}")
        if state in ("final", "in_review", "adjudication"):
            self.review(sub, state, truth, drafted, created)

    def truth(self, rubric: Rubric) -> dict[str, str]:
        ids = [d.id for d in rubric.details]
        if self.rng.random() < EARNED_SHARE:
            return dict.fromkeys(ids, "demonstrated")
        scores = {d: "not_yet" if self.rng.random() < 0.25 else "demonstrated" for d in ids}
        scores[self.rng.choice(ids)] = "not_yet"
        return scores

    def runs(self, sub: int, credential: str, truth: dict[str, str], created: datetime) -> dict[str, str]:
        """One screening run (two for 10%) with a drafted finding per detail; the latest run's drafts."""
        rubric = self.rubrics[credential]
        drafted: dict[str, str] = {}
        for version in range(1, 3 if self.rng.random() < 0.1 else 2):
            run = self.rows.add(ScreeningRun, submission_id=sub, version=version, readiness="ready",
                                rubric_id=credential, rubric_version=rubric.version,
                                report_json=self.payload["report"], sources_json=self.payload["sources"],
                                manifest_json=self.payload["manifest"], rubric_json=self.rubric_json[credential],
                                created_at=created + timedelta(minutes=version))
            for outcome in rubric.outcomes:
                for detail in outcome.details:
                    status = self.rng.choices(("evidenced", "weak", "missing"), DRAFTED_GIVEN[truth[detail.id]])[0]
                    self.rows.add(Finding, run_id=run, detail_id=detail.id, outcome_id=outcome.id, status=status,
                                  confidence=round(self.rng.random(), 3))
                    drafted[detail.id] = status
        return drafted

    def review(self, sub: int, state: str, truth: dict[str, str], drafted: dict[str, str], created: datetime) -> None:
        pair = self.rng.sample(sorted(self.assessors), 2)
        assigned = created + timedelta(hours=self.rng.uniform(1, 72))
        scores = [self.scores(a, truth) for a in pair]
        if state == "adjudication" and scores[0] == scores[1]:
            detail = self.rng.choice(sorted(truth))
            scores[1][detail] = "not_yet" if scores[1][detail] == "demonstrated" else "demonstrated"
        submitted = [assigned + timedelta(hours=self.rng.uniform(2, 240)) for _ in pair]
        for index, assessor in enumerate(pair):
            done = state != "in_review" or index == 0
            self.assessment(sub, assessor, scores[index], drafted, assigned, submitted[index] if done else None)
        if state == "final":
            self.final(sub, truth, scores, max(submitted))

    def scores(self, assessor: int, truth: dict[str, str]) -> dict[str, str]:
        flip = {"demonstrated": "not_yet", "not_yet": "demonstrated"}
        return {d: flip[s] if self.rng.random() < self.noise[assessor] else s for d, s in truth.items()}

    def assessment(self, sub: int, assessor: int, scores: dict[str, str], drafted: dict[str, str],
                   assigned: datetime, submitted: datetime | None) -> None:
        recommendation = "earned" if set(scores.values()) == {"demonstrated"} else "not_yet"
        assignment = self.rows.add(Assignment, submission_id=sub, assessor_id=assessor, assigned_by="lead",
                                   assigned_at=assigned, submitted_at=submitted,
                                   recommendation=recommendation if submitted else None, comment="")
        self.log(sub, "assign", assigned, note=self.assessors[assessor])
        details = sorted(scores) if submitted else sorted(scores)[: len(scores) // 2]
        at = submitted or assigned + timedelta(hours=1)
        for detail in details:
            self.decision(assignment, detail, drafted[detail], scores[detail], at)
            self.rows.add(Score, assignment_id=assignment, detail_id=detail, score=scores[detail],
                          feedback="" if scores[detail] == "demonstrated" else "Show it carried out.", updated_at=at)
            for action in ("decide", "score"):
                self.log(sub, action, at, actor=self.assessors[assessor], detail=detail)
        if submitted:
            self.log(sub, "submit", submitted, actor=self.assessors[assessor], note=recommendation)

    def decision(self, assignment: int, detail: str, drafted: str, score: str, at: datetime) -> None:
        """Confirm the draft when the score agrees with it, else override it (with a reason)."""
        agrees = (drafted == "evidenced") == (score == "demonstrated")
        status = None if agrees else ("evidenced" if score == "demonstrated" else "weak")
        self.rows.add(Decision, assignment_id=assignment, detail_id=detail, action="confirm" if agrees else "override",
                      new_status=status, reason=self.rng.choice(REASONS[status]) if status else "", updated_at=at)

    def final(self, sub: int, truth: dict[str, str], scores: list[dict[str, str]], submitted: datetime) -> None:
        disputed = sorted(d for d in truth if scores[0][d] != scores[1][d])
        decided = submitted + timedelta(hours=self.rng.uniform(1, 96) if disputed else 0)
        for detail in disputed:
            self.rows.add(Adjudication, submission_id=sub, detail_id=detail, score=truth[detail],
                          feedback="Settled by the lead.", lead="lead", at=decided)
            self.log(sub, "adjudicate", decided, detail=detail, note=truth[detail])
        per_detail = {d: [scores[0][d] if d not in disputed else truth[d], ""] for d in truth}
        earned = all(score == "demonstrated" for score, _ in per_detail.values())
        self.rows.add(FinalResult, submission_id=sub, result="earned" if earned else "not_yet_earned",
                      per_detail_json=json.dumps(per_detail), source="adjudication" if disputed else "agreement",
                      decided_by="lead" if disputed else "both", decided_at=decided)
        self.log(sub, "finalize", decided, note="earned" if earned else "not_yet_earned")
        row = self.rows.tables[Submission][sub - 1]  # ids count from 1
        if not earned and row["attempt"] == 1 and self.rng.random() < RESUBMITTED:
            self.retry.append((sub, row["code"], row["credential"]))

    def log(self, sub: int, action: str, at: datetime, actor: str = "lead", detail: str | None = None,
            note: str = "") -> None:
        self.rows.add(AuditLog, at=at, actor=actor, action=action, submission_id=sub, detail_id=detail, note=note)


# ---------------------------------------------------------------- databases


INSERT_ORDER = (User, Submission, ScreeningRun, Finding, Assignment, Decision, Score, Adjudication, FinalResult,
                AuditLog)
BATCH = 20_000


def fill(engine: Engine, rows: Rows) -> None:
    """Bulk inserts (executemany), table by table in dependency order, in one transaction."""
    with engine.begin() as connection:
        for model in INSERT_ORDER:
            table_rows = rows.tables.get(model, [])
            for start in range(0, len(table_rows), BATCH):
                connection.execute(insert(model), table_rows[start:start + BATCH])
        if engine.dialect.name == "postgresql":  # the ids were given: move each sequence past them
            for model in INSERT_ORDER:
                table = model.__tablename__
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
            connection.execute(text("ANALYZE"))


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/review.sqlite"


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A new database on the server, dropped afterwards."""
    name = f"audit_bench_{uuid.uuid4().hex[:12]}"
    url = make_url(server_url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ---------------------------------------------------------------- timing


def median_s(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(url: str, rows: Rows, repeat: int) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
        start = time.perf_counter()
        fill(engine, rows)
        print(f"  bulk insert of {rows.count():,} rows: {time.perf_counter() - start:7.2f} s")
        sessions = session_factory(engine)
        quarter = AuditFilter(since=date(2026, 1, 1), until=date(2026, 3, 31))
        audit = build_audit(sessions)
        cases: dict[str, Callable[[], object]] = {
            "load_facts (queries only), all": lambda: load_facts(sessions),
            "build_audit, all submissions": lambda: build_audit(sessions),
            "build_audit, one credential": lambda: build_audit(sessions, AuditFilter(credential=CREDENTIALS[0][0])),
            "build_audit, one quarter": lambda: build_audit(sessions, quarter),
            "rubric lint (no embedder), all": lambda: lint_audit(audit),
            "HTML report with plots, all": lambda: render_html(audit),
        }
        for name, fn in cases.items():
            print(f"  {name:38s} {median_s(fn, repeat):7.2f} s")
        print(f"  (audit of {audit.flow.submissions:,} submissions, {audit.flow.final:,} final)")
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3, help="Runs per timing; the median is printed.")
    parser.add_argument("--postgres", default=os.environ.get("PRESCREEN_TEST_POSTGRES_URL"),
                        help="A PostgreSQL server URL (default: PRESCREEN_TEST_POSTGRES_URL); a database is made "
                             "there and dropped.")
    parser.add_argument("--no-sqlite", action="store_true", help="Only PostgreSQL.")
    args = parser.parse_args()
    start = time.perf_counter()
    rows = Generator().generate(args.submissions)
    counts = ", ".join(f"{m.__tablename__} {len(r):,}" for m, r in rows.tables.items())
    print(f"generated in {time.perf_counter() - start:.2f} s: {counts}")
    targets: list[tuple[str, Callable[[], Any]]] = [] if args.no_sqlite else [("SQLite", sqlite_database)]
    if args.postgres:
        targets.append(("PostgreSQL", lambda: postgres_database(args.postgres)))
    for label, database in targets:
        print(f"{label}:")
        with database() as url:
            measure(url, rows, args.repeat)


if __name__ == "__main__":
    main()
