"""The audit for program leads: coverage, AI vs human, assessors and flow, as pydantic models and CSV tables.

`build_audit(sessions, filter)` reads the review database (read-only) and computes every section;
`Audit.tables()` gives each section as a Table that writes itself as CSV. Nothing here imports gradio.
"""

from __future__ import annotations

import csv
import io
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy.orm import sessionmaker

from prescreen.audit.calibration import (
    ANCHORING_NOTE,
    CALIBRATION_NOTE,
    AnchoringRow,
    CalibrationRow,
    anchoring_rows,
    calibration_rows,
)
from prescreen.audit.facts import AuditFacts, AuditFilter, SubmissionFacts, load_facts, natural_key
from prescreen.audit.stats import (
    DRAFT_STATUSES,
    Agreement,
    DetailAgreement,
    agreement,
    draft_agreement,
    draft_vs_final,
    rate,
)
from prescreen.models import Rubric
from prescreen.review.program import CalibrationSettings

Cell = bool | str | int | float | None
OPEN_STATES = ("incomplete", "awaiting_assignment", "in_review", "adjudication")
RETRIED_NOTE = "Counted when the previous attempt is in the same selection (filter)."
AI_NOTE = "The draft is read as a score: evidenced as demonstrated, weak or missing as not yet."


class Table(BaseModel):
    """One table of the audit, as it is shown and exported."""

    name: str = Field(description="File-name stem of its CSV export.")
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    note: str = ""

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows([["" if v is None else round(v, 4) if isinstance(v, float) else v for v in row]
                          for row in self.rows])
        return out.getvalue()


def _flat(row: BaseModel) -> dict[str, Cell]:
    """A row's fields, with a nested Agreement spread into its own columns."""
    out: dict[str, Cell] = {}
    for name, value in row:
        if isinstance(value, BaseModel):
            out.update(_flat(value))
        elif isinstance(value, datetime):
            out[name] = value.isoformat(timespec="seconds")
        else:
            out[name] = ", ".join(value) if isinstance(value, list) else value
    return out


def _columns(model: type[BaseModel]) -> list[str]:
    out: list[str] = []
    for name, info in model.model_fields.items():
        nested = info.annotation
        out += _columns(nested) if isinstance(nested, type) and issubclass(nested, BaseModel) else [name]
    return out


def table_of(name: str, title: str, model: type[BaseModel], rows: Sequence[BaseModel], note: str = "") -> Table:
    """The rows of `model` as a Table (its columns even when there are no rows)."""
    columns = _columns(model)
    flat = [_flat(r) for r in rows]
    return Table(name=name, title=title, columns=columns, rows=[[f.get(c) for c in columns] for f in flat], note=note)


# ---------------------------------------------------------------- section rows


class CoverageRow(BaseModel):
    detail_id: str
    detail: str = Field(description="The detail's text, from the rubric.")
    drafted_n: int = Field(description="Submissions with a drafted finding for it.")
    evidenced: int
    weak: int
    missing: int
    evidenced_rate: float | None = Field(description="Share drafted as evidenced.")
    final_n: int = Field(description="Submissions with a final result.")
    demonstrated: int
    demonstrated_rate: float | None = Field(description="Share finally scored demonstrated.")


class AiVsHumanRow(BaseModel):
    detail_id: str
    stats: Agreement = Field(description="The draft read as a score (evidenced: demonstrated) against the final score.")
    decisions: int = Field(description="Assessor decisions on the draft.")
    overrides: int
    override_rate: float | None


class ConfusionRow(BaseModel):
    detail_id: str
    drafted: str
    demonstrated: int
    not_yet: int


class OverrideReasonRow(BaseModel):
    from_status: str
    to_status: str
    reason: str = Field(description="The reason as written (case and spacing folded when grouping).")
    count: int
    details: list[str]


class PairRow(BaseModel):
    first: str
    second: str
    submissions: int
    stats: Agreement


class AssessorRow(BaseModel):
    assessor: str
    submitted: int = Field(description="Assessments submitted.")
    to_adjudication: int = Field(description="Of those, submissions that went to the lead.")
    adjudication_rate: float | None
    stats: Agreement = Field(description="The assessor's scores against the final results.")


class AdjudicationRow(BaseModel):
    detail_id: str
    finals: int
    adjudicated: int
    adjudication_rate: float | None


class FinalTimeRow(BaseModel):
    submission: int
    code: str
    attempt: int
    credential: str
    ingested: datetime
    decided: datetime
    hours: float


class QueueRow(BaseModel):
    state: str
    submissions: int
    median_age_days: float | None
    oldest_age_days: float | None


class ReasonRow(BaseModel):
    source: str = Field(description="pre-check (flagged incomplete) or returned (the lead's reason to the earner)")
    reason: str
    count: int


class ResubmissionRow(BaseModel):
    attempt: int
    submissions: int
    earned: int
    not_yet_earned: int
    open: int
    returned: int


class RetriedDetailRow(BaseModel):
    detail_id: str
    not_yet_before: int = Field(description="Resubmissions whose previous attempt was finally not yet on this detail.")
    now_demonstrated: int
    still_not_yet: int
    open: int = Field(description="The resubmission has no final result yet.")


class FlowSummary(BaseModel):
    submissions: int
    final: int
    earned: int
    not_yet_earned: int
    open: int
    returned: int = Field(description="Returns to the earner recorded in the audit log.")
    median_hours_to_final: float | None
    p90_hours_to_final: float | None


# ---------------------------------------------------------------- the audit


class Audit(BaseModel):
    filter: AuditFilter
    generated_at: datetime
    credentials: list[str]
    rubric_versions: list[str]
    coverage: list[CoverageRow]
    ai_vs_human: list[AiVsHumanRow]
    ai_overall: Agreement
    confusion: list[ConfusionRow]
    override_reasons: list[OverrideReasonRow]
    assessor_details: list[DetailAgreement]
    assessor_overall: Agreement
    pairs: list[PairRow]
    assessors: list[AssessorRow]
    adjudication: list[AdjudicationRow]
    flow: FlowSummary
    final_times: list[FinalTimeRow]
    queue: list[QueueRow]
    reasons: list[ReasonRow]
    resubmissions: list[ResubmissionRow]
    retried_details: list[RetriedDetailRow]
    calibration: list[CalibrationRow] = Field(default_factory=list, description="Every assessor against the gold set.")
    anchoring: list[AnchoringRow] = Field(default_factory=list,
                                          description="Agreement with the final results with and without the draft.")
    rubrics: list[Rubric] = Field(default_factory=list, exclude=True,
                                  description="The rubrics the submissions were last screened with (for the lint).")

    def tables(self) -> list[Table]:
        return [
            table_of("coverage", "Coverage per detail: drafted and finally scored", CoverageRow, self.coverage),
            table_of("ai_vs_human", "AI vs human per detail: draft against final score, overrides", AiVsHumanRow,
                     self.ai_vs_human, AI_NOTE),
            table_of("confusion", "Drafted status against final score, per detail", ConfusionRow, self.confusion),
            table_of("override_reasons", "Override reasons, grouped", OverrideReasonRow, self.override_reasons),
            table_of("assessor_details", "Agreement of the two assessors, per detail", DetailAgreement,
                     self.assessor_details),
            table_of("assessor_pairs", "Agreement of the two assessors, per pair", PairRow, self.pairs),
            table_of("assessors", "Each assessor against the final results", AssessorRow, self.assessors),
            table_of("adjudication", "Adjudication per detail", AdjudicationRow, self.adjudication),
            table_of("final_times", "Time from ingest to final result", FinalTimeRow, self.final_times),
            table_of("queue", "Open submissions by state, and their age", QueueRow, self.queue),
            table_of("reasons", "Why submissions were incomplete or returned", ReasonRow, self.reasons),
            table_of("resubmissions", "Outcomes by attempt", ResubmissionRow, self.resubmissions),
            table_of("retried_details", "Details not yet at the previous attempt, at the next", RetriedDetailRow,
                     self.retried_details, RETRIED_NOTE),
            table_of("calibration", "Calibration: each assessor against the gold set", CalibrationRow,
                     self.calibration, CALIBRATION_NOTE),
            table_of("anchoring", "Anchoring check: agreement with the final result, with and without the AI draft",
                     AnchoringRow, self.anchoring, ANCHORING_NOTE),
        ]

    def table(self, name: str) -> Table:
        return next(t for t in self.tables() if t.name == name)


def build_audit(sessions: sessionmaker, where: AuditFilter | None = None, now: datetime | None = None,
                calibration: CalibrationSettings | None = None) -> Audit:
    """The whole audit of the live submissions `where` selects, and every assessor's calibration with the
    program's settings (default: PRESCREEN_CALIBRATION_*); read-only."""
    audit = audit_of(load_facts(sessions, where), where or AuditFilter(), now or datetime.now(UTC))
    audit.calibration = calibration_rows(sessions, calibration or CalibrationSettings())
    return audit


def audit_of(facts: AuditFacts, where: AuditFilter, now: datetime) -> Audit:
    subs = facts.submissions
    details = facts.detail_ids()
    return Audit(
        filter=where, generated_at=now,
        credentials=sorted({s.credential for s in subs}), rubric_versions=sorted({s.rubric_version for s in subs}),
        coverage=[coverage_row(subs, d, facts.detail_text(d)) for d in details],
        ai_vs_human=[ai_row(subs, d) for d in details],
        ai_overall=draft_agreement(*_draft_pairs(subs, details)),
        confusion=[row for d in details for row in confusion_rows(subs, d)],
        override_reasons=override_reasons(subs),
        assessor_details=[DetailAgreement(detail_id=d, stats=agreement(*_assessor_pairs(subs, [d])))
                          for d in details],
        assessor_overall=agreement(*_assessor_pairs(subs, details)),
        pairs=pair_rows(subs), assessors=assessor_rows(subs),
        adjudication=[adjudication_row(subs, d) for d in details],
        flow=flow_summary(subs, len(facts.returns)), final_times=final_times(subs), queue=queue_rows(subs, now),
        reasons=reason_rows(facts), resubmissions=resubmission_rows(facts), retried_details=retried_rows(facts),
        anchoring=anchoring_rows(subs),
        rubrics=list(facts.rubrics.values()),
    )


# ---------------------------------------------------------------- coverage and AI vs human


def _finals(subs: Iterable[SubmissionFacts]) -> list[SubmissionFacts]:
    return [s for s in subs if s.is_final]


def coverage_row(subs: list[SubmissionFacts], detail: str, text: str) -> CoverageRow:
    drafted = Counter(s.drafted[detail] for s in subs if detail in s.drafted)
    final = [s.final[detail] for s in _finals(subs) if detail in s.final]
    n = sum(drafted.values())
    return CoverageRow(detail_id=detail, detail=text, drafted_n=n, evidenced=drafted["evidenced"],
                       weak=drafted["weak"], missing=drafted["missing"], evidenced_rate=rate(drafted["evidenced"], n),
                       final_n=len(final), demonstrated=final.count("demonstrated"),
                       demonstrated_rate=rate(final.count("demonstrated"), len(final)))


def _draft_pairs(subs: list[SubmissionFacts], details: list[str]) -> tuple[list[str], list[str]]:
    pairs = [(s.drafted[d], s.final[d]) for s in _finals(subs) for d in details if d in s.drafted and d in s.final]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def ai_row(subs: list[SubmissionFacts], detail: str) -> AiVsHumanRow:
    actions = [a.decisions[detail][0] for s in subs for a in s.submitted if detail in a.decisions]
    overrides = actions.count("override")
    return AiVsHumanRow(detail_id=detail, stats=draft_agreement(*_draft_pairs(subs, [detail])),
                        decisions=len(actions), overrides=overrides, override_rate=rate(overrides, len(actions)))


def confusion_rows(subs: list[SubmissionFacts], detail: str) -> list[ConfusionRow]:
    matrix = draft_vs_final(*_draft_pairs(subs, [detail]))
    return [ConfusionRow(detail_id=detail, drafted=status, demonstrated=row[0], not_yet=row[1])
            for status, row in zip(DRAFT_STATUSES, matrix, strict=True)]


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().rstrip(".").casefold()


def override_reasons(subs: list[SubmissionFacts]) -> list[OverrideReasonRow]:
    """Overrides grouped by (drafted status, new status, reason with case and spacing folded)."""
    groups: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    for s in subs:
        for a in s.submitted:
            for detail, (action, new_status, reason) in a.decisions.items():
                if action == "override":
                    key = (s.drafted.get(detail, ""), new_status or "", _fold(reason))
                    groups[key].append((detail, reason.strip()))
    rows = [OverrideReasonRow(from_status=k[0], to_status=k[1], reason=v[0][1], count=len(v),
                              details=sorted({d for d, _ in v})) for k, v in groups.items()]
    return sorted(rows, key=lambda r: (-r.count, r.from_status, r.to_status, r.reason))


# ---------------------------------------------------------------- assessors


def _both(s: SubmissionFacts):
    """The first two submitted assessments of a submission (the two that are compared), or None."""
    done = s.submitted
    return (done[0], done[1]) if len(done) >= 2 else None


def _assessor_pairs(subs: Iterable[SubmissionFacts], details: list[str]) -> tuple[list[str], list[str]]:
    first: list[str] = []
    second: list[str] = []
    for s in subs:
        if both := _both(s):
            a, b = sorted(both, key=lambda x: x.assessor)
            for d in details:
                if d in a.scores and d in b.scores:
                    first.append(a.scores[d])
                    second.append(b.scores[d])
    return first, second


def pair_rows(subs: list[SubmissionFacts]) -> list[PairRow]:
    by_pair: dict[tuple[str, str], list[SubmissionFacts]] = defaultdict(list)
    for s in subs:
        if both := _both(s):
            by_pair[tuple(sorted(a.assessor for a in both))].append(s)
    return [PairRow(first=a, second=b, submissions=len(shared),
                    stats=agreement(*_assessor_pairs(shared, sorted({d for s in shared for d in s.drafted}))))
            for (a, b), shared in sorted(by_pair.items())]


def assessor_rows(subs: list[SubmissionFacts]) -> list[AssessorRow]:
    names = sorted({a.assessor for s in subs for a in s.submitted})
    return [_assessor_row(subs, name) for name in names]


def _assessor_row(subs: list[SubmissionFacts], name: str) -> AssessorRow:
    mine = [(s, a) for s in subs for a in s.submitted if a.assessor == name]
    disputed = sum(1 for s, _ in mine if s.adjudicated or s.state == "adjudication")
    scored = [(a.scores[d], s.final[d]) for s, a in mine if s.final for d in a.scores if d in s.final]
    return AssessorRow(assessor=name, submitted=len(mine), to_adjudication=disputed,
                       adjudication_rate=rate(disputed, len(mine)),
                       stats=agreement([p[0] for p in scored], [p[1] for p in scored]))


def adjudication_row(subs: list[SubmissionFacts], detail: str) -> AdjudicationRow:
    finals = [s for s in _finals(subs) if detail in s.final]
    adjudicated = sum(detail in s.adjudicated for s in finals)
    return AdjudicationRow(detail_id=detail, finals=len(finals), adjudicated=adjudicated,
                           adjudication_rate=rate(adjudicated, len(finals)))


# ---------------------------------------------------------------- flow


def _hours(s: SubmissionFacts) -> float:
    assert s.decided_at is not None, "only final results have a time to final"
    return (s.decided_at - s.created_at).total_seconds() / 3600


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def flow_summary(subs: list[SubmissionFacts], returned: int) -> FlowSummary:
    finals = _finals(subs)
    hours = [_hours(s) for s in finals]
    results = Counter(s.result for s in finals)
    return FlowSummary(submissions=len(subs), final=len(finals), earned=results["earned"],
                       not_yet_earned=results["not_yet_earned"], open=sum(s.state in OPEN_STATES for s in subs),
                       returned=returned, median_hours_to_final=_quantile(hours, 0.5),
                       p90_hours_to_final=_quantile(hours, 0.9))


def final_times(subs: list[SubmissionFacts]) -> list[FinalTimeRow]:
    return [FinalTimeRow(submission=s.id, code=s.code, attempt=s.attempt, credential=s.credential,
                         ingested=s.created_at, decided=s.decided_at, hours=_hours(s)) for s in _finals(subs)]


def queue_rows(subs: list[SubmissionFacts], now: datetime) -> list[QueueRow]:
    rows = []
    for state in OPEN_STATES:
        ages = [(now - s.created_at).total_seconds() / 86400 for s in subs if s.state == state]
        rows.append(QueueRow(state=state, submissions=len(ages), median_age_days=_quantile(ages, 0.5),
                             oldest_age_days=max(ages) if ages else None))
    return rows


_PART_SHORT = re.compile(r"^part (\S+) has \d+ words, below its minimum of (\d+)$")


def reason_kind(reason: str) -> str:
    """A pre-check reason without its particulars: `part overview below its word minimum (100)`,
    `missing file`, `cannot be screened`."""
    if reason.startswith("cannot be screened"):
        return "cannot be screened"
    if m := _PART_SHORT.match(reason):
        return f"part {m[1]} below its word minimum ({m[2]})"
    pieces = reason.split(": ")
    return pieces[1] if len(pieces) >= 3 else reason


def reason_rows(facts: AuditFacts) -> list[ReasonRow]:
    prechecks = Counter(reason_kind(r) for s in facts.submissions for r in s.incomplete_reasons)
    returns = _grouped((r.reason for r in facts.returns), _fold)
    rows = [ReasonRow(source="pre-check", reason=k, count=n) for k, n in prechecks.items()]
    rows += [ReasonRow(source="returned", reason=k, count=n) for k, n in returns.items()]
    return sorted(rows, key=lambda r: (r.source, -r.count, r.reason))


def _grouped(texts: Iterable[str], key: Callable[[str], str]) -> dict[str, int]:
    """Counts of texts that are the same under `key`, each shown as its first spelling."""
    first: dict[str, str] = {}
    counts: Counter[str] = Counter()
    for text in texts:
        k = key(text)
        first.setdefault(k, text.strip())
        counts[k] += 1
    return {first[k]: n for k, n in counts.items()}


def resubmission_rows(facts: AuditFacts) -> list[ResubmissionRow]:
    returned = {r.submission for r in facts.returns}
    rows = []
    for attempt in sorted({s.attempt for s in facts.submissions}):
        subs = [s for s in facts.submissions if s.attempt == attempt]
        results = Counter(s.result for s in subs)
        rows.append(ResubmissionRow(attempt=attempt, submissions=len(subs), earned=results["earned"],
                                    not_yet_earned=results["not_yet_earned"],
                                    open=sum(s.state in OPEN_STATES for s in subs),
                                    returned=sum(s.id in returned for s in subs)))
    return rows


def retried_rows(facts: AuditFacts) -> list[RetriedDetailRow]:
    """Per detail: resubmissions whose previous attempt (in the same selection) ended not yet on it, and how
    they fared."""
    by_id = {s.id: s for s in facts.submissions}
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    for s in facts.submissions:
        before = by_id.get(s.previous_id) if s.previous_id is not None else None
        for detail, score in (before.final if before else {}).items():
            if score == "not_yet":
                outcomes[detail][s.final.get(detail, "open") if s.is_final else "open"] += 1
    return [RetriedDetailRow(detail_id=d, not_yet_before=sum(outcomes[d].values()),
                             now_demonstrated=outcomes[d]["demonstrated"], still_not_yet=outcomes[d]["not_yet"],
                             open=outcomes[d]["open"]) for d in sorted(outcomes, key=natural_key)]


def write_csv(tables: Iterable[Table], folder: Path) -> list[Path]:
    """Each table as FOLDER/<name>.csv; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in tables:
        path = folder / f"{table.name}.csv"
        path.write_text(table.to_csv(), encoding="utf-8")
        paths.append(path)
    return paths
