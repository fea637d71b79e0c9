"""The audit tab, for leads: filters (credential, rubric version, ingest dates), the audit's plots (gr.Plot over
matplotlib figures), its tables by section, the rubric lint, and downloads: every table as CSV, the
self-contained HTML report, and an earned result's Open Badge (VC-JWT).

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


def build(service: ReviewService, embedder: Embeddings | None = None, settings: Settings | None = None,
          issuer: IssuerSettings | None = None) -> AuditTab:  # noqa: PLR0915 - one layout
    """The tab's components and handlers. `embedder`: for the rubric lint's similarity (default: the one the
    settings name, made on first use); `issuer`: who signs badges (default: PRESCREEN_ISSUER_*)."""
    settings = settings or Settings()
    issuer = issuer or IssuerSettings()
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
            sections[title] = gr.HTML("", elem_id=f"audit-{title.lower().replace(' ', '-')}")
    with gr.Accordion("Rubric lint", open=False):
        lint_box = gr.HTML("", elem_id="audit-lint")
    downloads = gr.HTML("", elem_id="audit-downloads")
    gr.Markdown("#### Open Badge for an earned result")
    with gr.Row(elem_classes=["ps-bar"]):
        submission = gr.Number(label="Submission # (earned)", value=None, precision=0, minimum=1,
                               elem_id="audit-badge-submission")
        issue_button = gr.Button("Issue badge", size="md", scale=0, min_width=150, elem_id="audit-badge-issue")
    badge_message = gr.HTML("", elem_id="audit-badge")

    outputs = [credential, version, summary, *plots.values(), *sections.values(), lint_box, downloads]
    lint_embedder = cache(lambda: embedder or make_embedder(settings))

    def render(where: AuditFilter, with_similarity: bool) -> dict:
        audit = build_audit(service.sessions, where)
        lint = lint_audit(audit, lint_embedder() if with_similarity else None)
        tables = {t.name: t for t in audit.tables()}
        figures = all_plots(audit)
        return {
            summary: f"<p class='ps-meta'>{esc(where.describe())}</p>" + summary_html(audit),
            **{plots[name]: figures[name] for name in PLOTS},
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
        return {**choices(), **render(AuditFilter(), False)}

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

    refresh_button.click(refresh, [credential, version, since, until, similarity], outputs)
    issue_button.click(issue, [submission], badge_message)
    return AuditTab(load=load, outputs=outputs, refresh=refresh, issue=issue)

