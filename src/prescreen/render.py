"""The report as Markdown: for the terminal, and for earners checking their work before they submit."""

from __future__ import annotations

from prescreen.models import Rubric
from prescreen.report import Citation, DetailFinding, Report

_MARK = {"evidenced": "✅", "weak": "⚠️", "missing": "❌"}
_READINESS = {"ready": "READY", "not_ready": "NOT READY", "unscreenable": "UNSCREENABLE"}


def to_markdown(report: Report, rubric: Rubric | None = None) -> str:
    title = report.rubric_title or report.credential or "unknown credential"
    lines = [
        f"# Pre-screen of {report.submission_id}: {title}",
        "",
        f"**Readiness: {_READINESS[report.readiness]}** · rubric {report.rubric_version or '-'} · "
        f"drafter {report.drafter} · attempt {report.attempt}",
        "",
    ]
    if report.readiness == "unscreenable":
        return "\n".join(lines + [f"This bundle could not be screened: {report.message}", ""])
    for section in (_summary, _parts, _details, _self_analysis, _problems, _manifest):
        lines += section(report, rubric)
    return "\n".join(lines)


def _summary(report: Report, rubric: Rubric | None) -> list[str]:
    counts = {s: sum(d.status == s for d in report.details) for s in _MARK}
    short = [p.part_id for p in report.parts if p.shortfall]
    return [
        "## Summary",
        f"- Details: {counts['evidenced']} evidenced, {counts['weak']} weak, {counts['missing']} missing "
        f"(of {len(report.details)}; every one must be shown)",
        f"- Word minimums: {'not met by ' + ', '.join(short) if short else 'met'}",
        f"- Self-analysis: {len(report.self_analysis_issues) or 'no'} broken reference(s)",
        f"- Files: {len(report.problems) or 'no'} problem(s)",
        f"- Citations dropped by the verifier: {report.citations_dropped}",
        *_usage(report),
        *[f"- Note: {note}" for note in report.drafter_notes],
        "",
    ]


def _usage(report: Report) -> list[str]:
    u = report.llm_usage
    if u is None:
        return []
    return [f"- Model use ({report.prompt_version}): {u.calls} calls, {u.cached_calls} from cache, "
            f"{u.prompt_tokens:,} prompt + {u.completion_tokens:,} completion tokens, about ${u.cost_usd:.4f}"]


def _parts(report: Report, rubric: Rubric | None) -> list[str]:
    lines = ["## Word counts", "", "| Part | Words | Minimum | |", "|---|---:|---:|---|"]
    for p in report.parts:
        verdict = "short by " + str(p.minimum - p.word_count) if p.shortfall and p.minimum else "ok"
        lines.append(f"| {p.part_id} | {p.word_count:,} | {p.minimum or '-'} | {verdict} |")
    return lines + [""]


def _details(report: Report, rubric: Rubric | None) -> list[str]:
    texts = {d.id: d.text for d in rubric.details} if rubric else {}
    titles = {o.id: o.title for o in rubric.outcomes} if rubric else {}
    lines, outcome = ["## Evidence by detail", ""], None
    for finding in report.details:
        if finding.outcome_id != outcome:
            outcome = finding.outcome_id
            lines += [f"### {outcome} {titles.get(outcome or '', '')}".rstrip(), ""]
        lines += _finding(finding, texts.get(finding.detail_id))
    return lines


LOW_CONFIDENCE = 0.6  # below this the drafter is unsure, and the report says so


def _finding(finding: DetailFinding, text: str | None) -> list[str]:
    unsure = ", low confidence: check it" if finding.confidence < LOW_CONFIDENCE else ""
    head = f"- {_MARK[finding.status]} **{finding.detail_id}** {finding.status} ({finding.confidence:.2f}{unsure})"
    lines = [head + (f": {text}" if text else ""), f"  - {finding.rationale}"]
    lines += [f"  - > \"{c.quote}\" ({where(c)})" for c in finding.citations]
    if finding.citations_dropped:
        lines.append(f"  - {finding.citations_dropped} drafted citation(s) dropped: quote not found in the source")
    return lines + [""]


def where(citation: Citation) -> str:
    return f"{citation.artifact_id}, {citation.where}"


def _self_analysis(report: Report, rubric: Rubric | None) -> list[str]:
    if not report.self_analysis_issues:
        return ["## Self-analysis references", "", "Every reference was followed and holds.", ""]
    lines = ["## Self-analysis references", ""]
    lines += [f"- **{i.detail_id}** `{i.kind}`: {i.message}" for i in report.self_analysis_issues]
    return lines + [""]


def _problems(report: Report, rubric: Rubric | None) -> list[str]:
    if not report.problems:
        return []
    lines = ["## Files", ""]
    lines += [f"- `{p.file}`{' ' + p.where if p.where else ''} `{p.kind}`: {p.message}" for p in report.problems]
    return lines + [""]


def _manifest(report: Report, rubric: Rubric | None) -> list[str]:
    if not report.manifest_issues:
        return []
    lines = ["## Manifest (submission.yaml)", ""]
    lines += [f"- {i.location}{f' (line {i.line})' if i.line else ''}: {i.message}" for i in report.manifest_issues]
    return lines + [""]
