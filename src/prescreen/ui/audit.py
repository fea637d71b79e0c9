"""The audit tab, for leads: filters (credential, rubric version, ingest dates), the audit's plots (gr.Plot over
matplotlib figures), its tables by section, the rubric lint, and downloads: every table as CSV, the
self-contained HTML report, and an earned result's Open Badge (VC-JWT). The Calibration section marks gold
submissions, lists the gold set with its true scores, assigns gold reviews and asks an assessor to calibrate again;
each assessor's calibration, with the flag, is the audit's calibration table.

Downloads are data: links inside the page, never files served by Gradio's file route (which the gate closes to
everyone). Only a lead's page is filled; every action checks the role again.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache

import gradio as gr
from langchain_core.embeddings import Embeddings

from prescreen.audit import Audit, AuditFilter, Table, build_audit
from prescreen.audit.facts import filter_choices
from prescreen.audit.html import SECTIONS, render_html, summary_html, table_html
from prescreen.audit.lint import AuditLint, lint_audit
from prescreen.audit.plots import all_plots
from prescreen.badges import IssuerSettings, issue_with
from prescreen.embeddings import make_embedder
from prescreen.review.calibration import Calibration, GoldView
from prescreen.review.workflow import ReviewService
from prescreen.settings import Settings
from prescreen.ui.common import current_user, esc, notice, ui_errors

ALL = "(all)"
PLOTS = ("coverage", "agreement", "confusion", "flow")


# ---------------------------------------------------------------- HTML


def download_link(name: str, content: str, mime: str) -> str:
    """A link that saves `content` as `name`, carried in the page itself (a data: URI)."""
    data = base64.b64encode(content.encode("utf-8")).decode("ascii")
    return f"<a download='{esc(name)}' href='data:{mime};base64,{data}'>{esc(name)}</a>"


def downloads_html(audit: Audit, lint: AuditLint) -> str:
    tables = [*audit.tables(), *lint.tables()]
    links = [download_link(f"{t.name}.csv", t.to_csv(), "text/csv") for t in tables]
    report = download_link("prescreen-audit.html", render_html(audit, [("Rubric lint", lint.tables())]), "text/html")
    return f"<p><strong>Report:</strong> {report}</p><p><strong>CSV:</strong> {' · '.join(links)}</p>"


def section_html(tables: list[Table]) -> str:
    return "".join(table_html(t) for t in tables)


def parse_day(text: str | None, field: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise gr.Error(f"{field}: write the day as YYYY-MM-DD, e.g. 2026-09-01.", print_exception=False) from None


def parse_scores(text: str | None) -> dict[str, str]:
    """`EO1.1=demonstrated, EO1.2=not_yet` as {detail: score}; empty text: none (the final result's are used)."""
    scores = {}
    for pair in filter(None, (p.strip() for p in (text or "").replace("\n", ",").split(","))):
        detail, sep, score = pair.partition("=")
        if not sep or not detail.strip() or not score.strip():
            raise gr.Error(f"True scores: write DETAIL=demonstrated or DETAIL=not_yet, not {pair!r}.",
                           print_exception=False)
        scores[detail.strip()] = score.strip().replace(" ", "_")
    return scores


def gold_html(gold: list[GoldView]) -> str:
    """The gold set with its true scores (the lead's eyes only)."""
    if not gold:
        return "<p class='ps-empty'>No gold submission yet: mark a final one above.</p>"
    rows = "".join(f"<tr><td>#{g.submission}</td><td>{esc(g.label)}</td><td>{esc(g.credential)}</td><td>"
                   f"{esc(', '.join(f'{d}: {s}' for d, s in g.true_scores.items()))}</td><td>{esc(g.source)}</td>"
                   f"<td>{g.reviews}</td></tr>" for g in gold)
    head = "".join(f"<th scope='col'>{h}</th>" for h in ("#", "Submission", "Credential", "True scores", "From",
                                                          "Gold reviews"))
    return f"<h3>Gold set</h3><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def is_lead(service: ReviewService, request: gr.Request | None) -> bool:
    return current_user(service, request).role == "lead"


def require_lead(service: ReviewService, request: gr.Request | None) -> None:
    if not is_lead(service, request):
        raise gr.Error("Only a lead can see the audit or issue badges.")


# ---------------------------------------------------------------- the tab


@dataclass
class AuditTab:
    load: Callable  # (request) -> updates of `outputs`
    outputs: list
    refresh: Callable  # (credential, version, since, until, similarity, request) -> updates of `outputs`
    issue: Callable  # (submission, request) -> updates of the badge outputs
    mark_gold: Callable  # (submission, scores text, request) -> (message, gold set)
    assign_gold: Callable  # (assessor, request) -> (message, gold set)
    require_calibration: Callable  # (assessor, request) -> (message, gold set)


def build(service: ReviewService, embedder: Embeddings | None = None, settings: Settings | None = None,
          issuer: IssuerSettings | None = None) -> AuditTab:  # noqa: PLR0915 - one layout
    """The tab's components and handlers. `embedder`: for the rubric lint's similarity (default: the one the
    settings name, made on first use); `issuer`: who signs badges (default: PRESCREEN_ISSUER_*)."""
    settings = settings or Settings()
    issuer = issuer or settings.issuer
    data_dir = settings.data_dir
    with gr.Row(elem_classes=["ps-bar"]):
        credential = gr.Dropdown(label="Credential", choices=[ALL], value=ALL, elem_id="audit-credential")
        version = gr.Dropdown(label="Rubric version", choices=[ALL], value=ALL, elem_id="audit-version")
        since = gr.Textbox(label="Ingested since", placeholder="YYYY-MM-DD", elem_id="audit-since")
        until = gr.Textbox(label="Ingested until", placeholder="YYYY-MM-DD", elem_id="audit-until")
        similarity = gr.Checkbox(label="Rubric similarity (loads the embedding model)", value=False,
                                 elem_id="audit-similarity")
        refresh_button = gr.Button("Refresh", variant="primary", size="md", scale=0, min_width=120,
                                   elem_id="audit-refresh")
    summary = gr.HTML("<p class='ps-empty'>The audit appears here for leads.</p>", elem_id="audit-summary")
    plots: dict[str, gr.Plot] = {}
    for pair in (PLOTS[:2], PLOTS[2:]):
        with gr.Row():
            for name in pair:
                plots[name] = gr.Plot(label=name.capitalize(), elem_id=f"audit-plot-{name}", format="png")
    sections = {}
    for title, _, _ in SECTIONS:
        with gr.Accordion(title, open=title == "Coverage"):
            if title == "Anchoring check":
                anchoring_plot = gr.Plot(label="Anchoring", elem_id="audit-plot-anchoring", format="png")
            sections[title] = gr.HTML("", elem_id=f"audit-{title.lower().replace(' ', '-')}")
            if title == "Calibration":
                calibration = calibration_form()
    with gr.Accordion("Rubric lint", open=False):
        lint_box = gr.HTML("", elem_id="audit-lint")
    downloads = gr.HTML("", elem_id="audit-downloads")
    gr.Markdown("#### Open Badge for an earned result")
    with gr.Row(elem_classes=["ps-bar"]):
        submission = gr.Number(label="Submission # (earned)", value=None, precision=0, minimum=1,
                               elem_id="audit-badge-submission")
        issue_button = gr.Button("Issue badge", size="md", scale=0, min_width=150, elem_id="audit-badge-issue")
    badge_message = gr.HTML("", elem_id="audit-badge")

    outputs = [credential, version, summary, *plots.values(), anchoring_plot, *sections.values(), calibration.gold,
               lint_box, downloads]
    gold_set = Calibration(service)
    lint_embedder = cache(lambda: embedder or make_embedder(settings))

    def render(where: AuditFilter, with_similarity: bool) -> dict:
        audit = build_audit(service.sessions, where, calibration=service.program.calibration)
        lint = lint_audit(audit, lint_embedder() if with_similarity else None)
        tables = {t.name: t for t in audit.tables()}
        figures = all_plots(audit)
        return {
            summary: f"<p class='ps-meta'>{esc(where.describe())}</p>" + summary_html(audit),
            **{plots[name]: figures[name] for name in PLOTS}, anchoring_plot: figures["anchoring"],
            **{sections[title]: section_html([tables[n] for n in names]) for title, _, names in SECTIONS},
            lint_box: section_html(lint.tables()), downloads: downloads_html(audit, lint),
        }

    def choices(selected_credential: str = ALL, selected_version: str = ALL) -> dict:
        credentials, versions = filter_choices(service.sessions)
        return {credential: gr.Dropdown(choices=[ALL, *credentials], value=selected_credential),
                version: gr.Dropdown(choices=[ALL, *versions], value=selected_version)}

    @ui_errors
    def load(request: gr.Request):
        if not is_lead(service, request):
            return tuple(gr.skip() for _ in outputs)  # an assessor's page: the tab stays empty
        gold = gold_html(gold_set.gold(lead_name(request)))
        return {**choices(), **render(AuditFilter(), False), calibration.gold: gold}

    @ui_errors
    def refresh(cred, ver, first, last, with_similarity, request: gr.Request):
        require_lead(service, request)
        where = AuditFilter(credential=None if cred in (None, ALL) else cred,
                            rubric_version=None if ver in (None, ALL) else ver,
                            since=parse_day(first, "Ingested since"), until=parse_day(last, "Ingested until"))
        return {**choices(cred or ALL, ver or ALL), **render(where, bool(with_similarity))}

    @ui_errors
    def issue(number, request: gr.Request):
        require_lead(service, request)
        if not number:
            raise gr.Error("Type the submission's number (its # in the queue).")
        issued = issue_with(service.sessions, int(number), issuer, data_dir)
        link = download_link(f"badge-{int(number)}.jwt", issued.jwt, "application/vc+jwt")
        return notice(f"Badge issued for submission #{int(number)}.") + f"<p>{link}</p>"

    def lead_name(request: gr.Request | None) -> str:
        require_lead(service, request)
        return current_user(service, request).username

    def done(text: str, request: gr.Request | None) -> tuple[str, str]:
        return notice(text), gold_html(gold_set.gold(lead_name(request)))

    @ui_errors
    def mark_gold(number, scores_text, request: gr.Request):
        lead = lead_name(request)
        if not number:
            raise gr.Error("Type the submission's number (its # in the queue).")
        gold = gold_set.mark_gold(lead, int(number), parse_scores(scores_text) or None)
        return done(f"{gold.label} is in the gold set (true scores from {gold.source}).", request)

    @ui_errors
    def assign_gold(assessor, request: gr.Request):
        ids = gold_set.assign(lead_name(request), (assessor or "").strip())
        return done(f"Gold reviews assigned to {assessor}: {', '.join(f'#{i}' for i in ids)}.", request)

    @ui_errors
    def require_calibration(assessor, request: gr.Request):
        status = gold_set.require(lead_name(request), (assessor or "").strip())
        return done(f"{status.assessor} gets no live work until they pass calibration again.", request)

    refresh_button.click(refresh, [credential, version, since, until, similarity], outputs)
    issue_button.click(issue, [submission], badge_message)
    form = calibration
    form.mark.click(mark_gold, [form.submission, form.scores], [form.message, form.gold], api_name="mark_gold")
    form.assign.click(assign_gold, [form.assessor], [form.message, form.gold], api_name="assign_gold")
    form.again.click(require_calibration, [form.assessor], [form.message, form.gold],
                     api_name="require_calibration")
    return AuditTab(load=load, outputs=outputs, refresh=refresh, issue=issue, mark_gold=mark_gold,
                    assign_gold=assign_gold, require_calibration=require_calibration)


@dataclass
class CalibrationForm:
    submission: gr.Number
    scores: gr.Textbox
    mark: gr.Button
    assessor: gr.Textbox
    assign: gr.Button
    again: gr.Button
    message: gr.HTML
    gold: gr.HTML


def calibration_form() -> CalibrationForm:
    """Below the calibration table: mark gold, assign gold reviews, ask to calibrate again; the gold set."""
    with gr.Row(elem_classes=["ps-bar"]):
        submission = gr.Number(label="Submission # to mark gold", value=None, precision=0, minimum=1,
                               elem_id="audit-gold-submission")
        scores = gr.Textbox(label="True scores (default: its final result's)", elem_id="audit-gold-scores",
                            placeholder="EO1.1=demonstrated, EO1.2=not_yet")
        mark = gr.Button("Mark gold", size="md", scale=0, min_width=130, elem_id="audit-gold-mark")
    with gr.Row(elem_classes=["ps-bar"]):
        assessor = gr.Textbox(label="Assessor (username)", elem_id="audit-calibration-assessor")
        assign = gr.Button("Assign gold reviews", size="md", scale=0, min_width=170, elem_id="audit-gold-assign")
        again = gr.Button("Ask to calibrate again", size="md", scale=0, min_width=190,
                          elem_id="audit-calibration-again")
    message = gr.HTML("", elem_id="audit-calibration-message")
    gold = gr.HTML("", elem_id="audit-gold-set")
    return CalibrationForm(submission, scores, mark, assessor, assign, again, message, gold)

