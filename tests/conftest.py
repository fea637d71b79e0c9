"""Shared fixtures. Every test runs without API keys, prescreen settings from the environment,
or the user's data folder."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """No OPENAI_API_KEY and no PRESCREEN_* variables; data goes to tmp_path/"data"."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    for name in [n for n in os.environ if n.startswith("PRESCREEN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PRESCREEN_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


# ---------------------------------------------------------------- review databases: SQLite and PostgreSQL

import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

# read at import: the autouse fixture above clears PRESCREEN_* before any test runs
POSTGRES_SERVER_URL = os.environ.get("PRESCREEN_TEST_POSTGRES_URL")


@pytest.fixture(autouse=True)
def no_database_url(monkeypatch: pytest.MonkeyPatch):
    """DATABASE_URL from the environment must not send a test to a real database."""
    monkeypatch.delenv("DATABASE_URL", raising=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path):
    """A fresh, empty database: a SQLite file in tmp_path, or a new PostgreSQL database (dropped afterwards)
    on the server PRESCREEN_TEST_POSTGRES_URL names (.ci/run starts one); skipped when it is unset."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'review.sqlite'}"
    elif not POSTGRES_SERVER_URL:
        pytest.skip("set PRESCREEN_TEST_POSTGRES_URL to a PostgreSQL server URL (see .ci/run) to run this")
    else:
        yield from _fresh_postgres_database(POSTGRES_SERVER_URL)


def _fresh_postgres_database(server_url: str):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"t_{uuid.uuid4().hex[:20]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ---------------------------------------------------------------- the review workflow over a fake screener

EARNER = {"name": "Teresa Nakamura", "email": "tnakamura@example.org",
          "organization": "Lincoln Elementary School, Millbrook Unified School District"}
DETAILS = ("EO1.1", "EO1.2", "EO2.1")
PAGE_1 = ("Equity audit 2025-26 by Teresa Nakamura, principal of Lincoln Elementary School. " * 4
          + "Staff adopted our working definition of equity by vote on September 3, 2025. "
          + "Questions to tnakamura@example.org or 555-123-4567. " + "The audit covers every grade. " * 8)
PAGE_2 = "We examined attendance data by subgroup with all staff in a gallery walk on September 10."
PARAGRAPH = "Every student has an adult mentor in a crew. Ms. Nakamura met each crew in October."


def make_screening(code: str = "S-2026-0101", attempt: int = 1, *, email: str = EARNER["email"],
                   statuses: dict | None = None, shortfall: bool = False, problem: str | None = None,
                   unscreenable: bool = False):
    """A Screening as the pipeline makes it, built by hand: three details, two sources, the earner's identity
    in the artifacts, the self-analysis and a rationale (so blind views have something to mask)."""
    from prescreen.bundle import Bundle
    from prescreen.models import (
        ArtifactRef,
        Detail,
        Earner,
        EvidenceRef,
        Manifest,
        Outcome,
        Rubric,
        RubricPart,
        Segment,
        SelfAnalysisEntry,
        Source,
    )
    from prescreen.pipeline import Screening
    from prescreen.report import Citation, DetailFinding, PartResult, Problem, Report

    if unscreenable:
        return Screening(report=Report(submission_id=code, credential="", rubric_version="", drafter="extractive",
                                       readiness="unscreenable", message="no submission.yaml at the bundle root"))
    statuses = {"EO1.1": "evidenced", "EO1.2": "weak", "EO2.1": "evidenced", **(statuses or {})}
    rubric = Rubric(id="test-credential", title="Test credential", version="1",
                    parts=[RubricPart(id="overview", title="Overview", minimum_words=100)],
                    outcomes=[Outcome(id="EO1", title="Equity", details=[Detail(id="EO1.1", text="Defines equity."),
                                                                       Detail(id="EO1.2", text="Examines data.")]),
                              Outcome(id="EO2", title="Belonging", details=[Detail(id="EO2.1", text="Mentors.")])])
    sources = {
        "A1": Source(id="A1", file="artifacts/audit.pdf", title="Equity audit by Teresa Nakamura", role="artifact",
                     kind="pdf", segments=[Segment(text=PAGE_1, page=1), Segment(text=PAGE_2, page=2)], page_count=2),
        "A2": Source(id="A2", file="artifacts/crews.md", title="Crews at Lincoln Elementary School", role="artifact",
                     kind="text", segments=[Segment(text=PARAGRAPH, paragraph=1)]),
    }
    quotes = {"EO1.1": ("A1", 1, None, "Staff adopted our working definition of equity by vote on September 3, 2025"),
              "EO1.2": ("A1", 2, None, "examined attendance data by subgroup with all staff"),
              "EO2.1": ("A2", None, 1, "Every student has an adult mentor in a crew")}
    findings = [
        DetailFinding(detail_id=d, outcome_id=d.split(".")[0], status=statuses[d], confidence=0.8,
                      rationale=f"Teresa Nakamura's artifact {quotes[d][0]} shows it.",
                      citations=[Citation(artifact_id=a, page=p, paragraph=para, quote=q, verified=True)])
        for d, (a, p, para, q) in quotes.items()
    ]
    manifest = Manifest(
        submission_id=code, credential="test-credential", attempt=attempt, earner=Earner(**{**EARNER, "email": email}),
        parts={"overview": "overview.md"},
        artifacts=[ArtifactRef(id="A1", file="artifacts/audit.pdf", title=sources["A1"].title),
                   ArtifactRef(id="A2", file="artifacts/crews.md", title=sources["A2"].title)],
        self_analysis=[SelfAnalysisEntry(detail=d,
                                         evidence=[EvidenceRef(artifact=a, locator=f"p. {p}" if p else "para. 1")],
                                         explanation=f"I, Teresa Nakamura of Lincoln Elementary School, show {d} here.")
                       for d, (a, p, _, _) in quotes.items()],
    )
    problems = [Problem(file="artifacts/video.mp4", kind=problem, message=f"{problem} (test)")] if problem else []
    report = Report(
        submission_id=code, credential=rubric.id, rubric_version="1", rubric_title=rubric.title, attempt=attempt,
        drafter="extractive", readiness="ready" if set(statuses.values()) == {"evidenced"} and not problems
        and not shortfall else "not_ready",
        parts=[PartResult(part_id="overview", word_count=40 if shortfall else 120, minimum=100, shortfall=shortfall)],
        details=findings, problems=problems,
    )
    bundle = Bundle(root=Path("/nonexistent"), origin=code, manifest=manifest)
    return Screening(report=report, bundle=bundle, rubric=rubric, sources=sources)


class ReviewKit:
    """A ReviewService on a fresh database, a fake screener, and users lead, ana, ben and cy (assessors)."""

    def __init__(self, db_url: str, deidentify=None):
        from prescreen.review.accounts import Passwords, make_hasher
        from prescreen.review.db import make_engine, session_factory, upgrade
        from prescreen.review.workflow import ReviewService
        from tests.blind_kit import fallback_mask

        self.engine = make_engine(db_url)
        upgrade(self.engine)
        self.screenings: dict[str, object] = {}
        self.service = ReviewService(session_factory(self.engine), screen=self.screen,
                                     deidentify=deidentify or fallback_mask,
                                     passwords=Passwords(make_hasher(fast=True)))
        for name, role in (("lead", "lead"), ("ana", "assessor"), ("ben", "assessor"), ("cy", "assessor")):
            self.service.create_user(name, f"{name}-test-pass", role)

    def screen(self, path: Path, progress=None):
        """The screening made for `path`; like the pipeline, it tells `progress` (when given) its steps."""
        for step in ("reading the files", "drafting findings") if progress else ():
            progress(step)
        return self.screenings[str(path)]

    def ingest(self, screening=None, **kwargs):
        """Ingest a fake bundle (make_screening(**kwargs) unless one is given) as the lead."""
        path = Path(f"/bundles/{len(self.screenings)}")
        self.screenings[str(path)] = screening or make_screening(**kwargs)
        return self.service.ingest("lead", path)

    def in_review(self, **kwargs) -> int:
        sub = self.ingest(**kwargs)
        return self.service.assign("lead", sub.id, ["ana", "ben"]).id

    def complete(self, actor: str, submission: int, scores: dict | None = None, submit: bool = True):
        """Confirm every detail and score it (demonstrated unless `scores` says otherwise); then submit."""
        scores = {d: "demonstrated" for d in DETAILS} | (scores or {})
        for detail, score in scores.items():
            self.service.decide(actor, submission, detail, "confirm")
            self.service.score(actor, submission, detail, score, f"{actor}: feedback on {detail}")
        if submit:
            earned = all(s == "demonstrated" for s in scores.values())
            return self.service.submit(actor, submission, "earned" if earned else "not_yet")

    def count(self, model) -> int:
        from sqlalchemy import func, select

        with self.engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(model))


@pytest.fixture
def kit(db_url):
    kit = ReviewKit(db_url)
    yield kit
    kit.engine.dispose()
