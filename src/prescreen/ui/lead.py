"""The lead tab: ingest bundles, assign two assessors (or auto-assign), return an incomplete submission to the
earner, and adjudicate the details the two assessors disagreed on. Shows the final result once recorded.

What the lead sees is unmasked (the earner's identity included): this tab is never filled for an assessor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from prescreen.review.workflow import LeadView, ReviewService
from prescreen.ui import queue as queue_tab
from prescreen.ui.common import (
    SCORE_CHOICES, badge, bullet_list, current_user, esc, notice, pretty, skip, table, ui_errors,
)

ASSIGNABLE = ("incomplete", "awaiting_assignment")
NO_SUBMISSION = "<p class='ps-empty'>Choose a submission, then press Open.</p>"


# ---------------------------------------------------------------- HTML


def summary_html(view: LeadView) -> str:
    earner = view.earner
    who = f"{esc(earner.name)} &lt;{esc(earner.email)}&gt;" if earner else "unknown"
    parts = [f"<h2 class='ps-title'>{esc(view.label)}</h2>",
             f"<p class='ps-meta'>{esc(view.rubric_title)} · <code>{esc(view.credential)}</code> · "
             f"{badge(view.status)} · earner: {who}</p>"]
    if view.incomplete_reasons and view.status == "incomplete":
        parts.append("<div class='ps-warning'><strong>Incomplete: the pre-check failed.</strong> Return it to the "
                     f"earner, or assign it anyway.{bullet_list(view.incomplete_reasons)}</div>")
    elif view.incomplete_reasons:
        parts.append(f"<details class='ps-flags'><summary>Pre-check reasons ({len(view.incomplete_reasons)})"
                     f"</summary>{bullet_list(view.incomplete_reasons)}</details>")
    if view.returned_reason:
        parts.append(notice(f"Returned to the earner: {view.returned_reason}", "warn"))
    if view.assessors:
        rows = [[esc(a.username), "submitted" if a.submitted else "in progress", f"{a.decided} decided",
                 f"{a.scored} scored", esc(pretty(a.recommendation)) or "—"] for a in view.assessors]
        parts.append(table(["Assessor", "State", "Decisions", "Scores", "Recommendation"], rows))
    return "\n".join(parts)


def scores_html(view: LeadView) -> str:
    """Both assessors' scores side by side, shown once both have submitted; disputed details marked."""
    if not view.assessor_scores:
        return ""
    names = list(view.assessor_scores)
    final = view.final.per_detail if view.final else {}
    rows = []
    for d in view.details:
        cells = [f"<strong>{esc(d.detail_id)}</strong>" + (" <span class='ps-badge ps-disputed'>disputed</span>"
                                                            if d.detail_id in view.disputed else "")]
        for name in names:
            score, feedback = view.assessor_scores[name].get(d.detail_id, ("", ""))
            cells.append(f"{badge(score)}<div class='ps-small'>{esc(feedback)}</div>")
        adjudicated = view.adjudications.get(d.detail_id)
        cells.append(badge(adjudicated[0]) if adjudicated else "—")
        cells.append(badge(final[d.detail_id][0]) if d.detail_id in final else "—")
        rows.append(cells)
    return table(["Detail", *names, "Your adjudication", "Final"], rows, "ps-table ps-scores")


def final_html(view: LeadView) -> str:
    final = view.final
    if final is None:
        return ""
    rows = [[esc(detail), badge(score), f"<div class='ps-pre'>{esc(feedback)}</div>"]
            for detail, (score, feedback) in final.per_detail.items()]
    return (f"<div class='ps-final-result'><h3>Final result: {badge(final.result)}</h3>"
            f"<p class='ps-meta'>by {esc(final.decided_by)} ({esc(final.source)}), "
            f"{final.decided_at:%Y-%m-%d %H:%M} UTC</p>"
            f"{table(['Detail', 'Score', 'Feedback for the earner'], rows)}</div>")


# ---------------------------------------------------------------- the tab


@dataclass
class LeadTab:
    picker: gr.Dropdown
    show: object  # (submission, request) -> updates of `outputs`
    outputs: list
    load: object  # (request) -> updates of `outputs`: the list and the assessors, no submission


def build(service: ReviewService) -> LeadTab:  # noqa: PLR0915 - one layout, read top to bottom
    gr.Markdown("### Ingest a bundle")
    with gr.Row():
        upload = gr.File(label="Submission bundle (.zip)", file_types=[".zip"], type="filepath", scale=2,
                         elem_id="lead-upload", height=120)
        with gr.Column(scale=2):
            path = gr.Textbox(label="…or a folder or .zip on this server", lines=1, elem_id="lead-path",
                              placeholder="/srv/bundles/S-2026-0117.zip", info="Enter ingests it.")
            ingest = gr.Button("Ingest", variant="primary", elem_id="lead-ingest")
    message = gr.HTML("", elem_id="lead-message")

    gr.Markdown("### Submissions")
    listing = gr.Dataframe(headers=queue_tab.LEAD_HEADERS, value=[], interactive=False, wrap=True,
                           elem_id="lead-table", max_height=360, label="All submissions (click a row to open it)",
                           column_widths=queue_tab.LEAD_WIDTHS, elem_classes=["ps-frame"])
    with gr.Row(elem_classes=["ps-bar"]):
        picker = gr.Dropdown(label="Submission", choices=[], value=None, scale=4, elem_id="lead-submission")
        open_button = gr.Button("Open", variant="primary", size="md", scale=0, min_width=140, elem_id="lead-open")
    summary = gr.HTML(NO_SUBMISSION, elem_id="lead-summary")

    with gr.Group(visible=False, elem_id="lead-assign") as assign_group:
        gr.Markdown("#### Assign two assessors", padding=True)
        with gr.Row(elem_classes=["ps-bar"]):
            first = gr.Dropdown(label="First assessor", choices=[], value=None, elem_id="lead-first")
            second = gr.Dropdown(label="Second assessor", choices=[], value=None, elem_id="lead-second")
            assign = gr.Button("Assign these two", variant="primary", size="md", scale=0, min_width=170,
                               elem_id="lead-assign-button")
            auto = gr.Button("Auto-assign (least loaded)", size="md", scale=0, min_width=220,
                             elem_id="lead-auto-assign")
    with gr.Group(visible=False, elem_id="lead-return") as return_group:
        gr.Markdown("#### Return to the earner", padding=True)
        with gr.Row(elem_classes=["ps-bar"]):
            reason = gr.Textbox(label="Reason (the earner reads it)", lines=1, scale=4, elem_id="lead-return-reason",
                                placeholder="What is missing and how to fix it", info="Enter returns it.")
            give_back = gr.Button("Return to earner", variant="stop", size="md", scale=0, min_width=170,
                                  elem_id="lead-return-button")
    scores = gr.HTML("", elem_id="lead-scores")
    with gr.Group(visible=False, elem_id="lead-adjudicate") as adjudicate_group:
        gr.Markdown("#### Adjudicate a disputed detail", padding=True)
        with gr.Row(elem_classes=["ps-bar"]):
            disputed = gr.Dropdown(label="Disputed detail", choices=[], value=None, elem_id="lead-disputed")
            adj_score = gr.Radio(SCORE_CHOICES, label="Your score", elem_id="lead-adj-score")
            adj_feedback = gr.Textbox(label="Feedback for the earner", lines=1, max_lines=4, scale=2,
                                      elem_id="lead-adj-feedback", info="Enter records it.")
            adjudicate = gr.Button("Record adjudication", variant="primary", size="md", scale=0, min_width=190,
                                   elem_id="lead-adjudicate-button")
    final = gr.HTML("", elem_id="lead-final")

    outputs = [message, listing, picker, summary, assign_group, first, second, return_group, reason, scores,
               adjudicate_group, disputed, adj_score, adj_feedback, final]

    def listing_updates(user: str, selected: int | None = None) -> dict:
        items = service.queue(user)
        people = [(f"{a.display_name or a.username} ({a.username})", a.username) for a in service.assessors()]
        return {listing: {"headers": queue_tab.LEAD_HEADERS, "data": queue_tab.rows(items, lead=True)},
                picker: gr.Dropdown(choices=queue_tab.choices(items), value=selected),
                first: gr.Dropdown(choices=people), second: gr.Dropdown(choices=people)}

    def render(user: str, view: LeadView, text: str = "", kind: str = "ok") -> dict:
        open_disputes = [d for d in view.disputed if d not in view.adjudications]
        return {
            **listing_updates(user, view.submission), message: notice(text, kind) if text else "",
            summary: summary_html(view), scores: scores_html(view), final: final_html(view),
            assign_group: gr.Group(visible=view.status in ASSIGNABLE),
            return_group: gr.Group(visible=view.status == "incomplete"), reason: "",
            adjudicate_group: gr.Group(visible=view.status == "adjudication"),
            disputed: gr.Dropdown(choices=view.disputed, value=open_disputes[0] if open_disputes else None),
            adj_score: None, adj_feedback: "",
        }

    def lead_of(request: gr.Request, quiet: bool = False) -> str | None:
        """The lead's username; for anyone else None (quiet: a page load) or a gr.Error (an action)."""
        user = current_user(service, request)
        if user.role == "lead":
            return user.username
        if quiet:
            return None
        raise gr.Error("Only a lead can do this.")

    @ui_errors
    def load(request: gr.Request):
        user = lead_of(request, quiet=True)
        return listing_updates(user) if user else skip(outputs)

    @ui_errors
    def show(submission, request: gr.Request):
        user = lead_of(request, quiet=True)
        if user is None:
            return skip(outputs)
        if submission is None:
            raise gr.Error("Choose a submission first.")
        return render(user, service.lead_view(user, int(submission)))

    @ui_errors
    def ingest_bundle(uploaded, typed, request: gr.Request):
        user = lead_of(request)
        bundle = uploaded or (typed or "").strip()
        if not bundle:
            raise gr.Error("Upload a bundle (.zip), or type the path of a bundle folder or .zip on this server.")
        if not Path(bundle).exists():
            raise gr.Error(f"{bundle}: no such file or folder on the server.")
        sub = service.ingest(user, Path(bundle))
        text = f"Ingested {sub.label}: {pretty(sub.state)} (readiness {pretty(sub.readiness)})."
        return {**render(user, service.lead_view(user, sub.id), text, "warn" if sub.incomplete else "ok"),
                upload: None, path: ""}

    def after(user: str, submission: int, text: str) -> dict:
        return render(user, service.lead_view(user, submission), text)

    @ui_errors
    def do_assign(submission, a, b, request: gr.Request):
        user = lead_of(request)
        if submission is None or not a or not b:
            raise gr.Error("Open a submission and choose two assessors, or press Auto-assign.")
        view = service.assign(user, int(submission), [a, b])
        return after(user, view.id, f"Assigned to {' and '.join(view.assigned_to)}.")

    @ui_errors
    def do_auto(submission, request: gr.Request):
        user = lead_of(request)
        if submission is None:
            raise gr.Error("Open a submission first.")
        view = service.auto_assign(user, int(submission))
        return after(user, view.id, f"Assigned to {' and '.join(view.assigned_to)}.")

    @ui_errors
    def do_return(submission, why, request: gr.Request):
        user = lead_of(request)
        if submission is None:
            raise gr.Error("Open a submission first.")
        view = service.return_to_earner(user, int(submission), why or "")
        return after(user, view.id, "Returned to the earner.")

    @ui_errors
    def do_adjudicate(submission, detail, value, note, request: gr.Request):
        user = lead_of(request)
        if submission is None or not detail or not value:
            raise gr.Error("Choose the disputed detail and your score.")
        service.adjudicate(user, int(submission), detail, value, note or "")
        view = service.lead_view(user, int(submission))
        done = " The final result is recorded." if view.final else ""
        return render(user, view, f"Recorded {detail}: {pretty(value)}.{done}")

    screening = "ingest"  # one screening at a time: it loads and runs the embedding model
    ingest.click(ingest_bundle, [upload, path], [*outputs, upload, path], concurrency_id=screening)
    path.submit(ingest_bundle, [upload, path], [*outputs, upload, path], concurrency_id=screening)
    open_button.click(show, [picker], outputs)
    picker.input(show, [picker], outputs)
    listing.select(queue_tab.picked_row, None, picker).then(show, [picker], outputs)
    assign.click(do_assign, [picker, first, second], outputs)
    auto.click(do_auto, [picker], outputs)
    reason.submit(do_return, [picker, reason], outputs)
    give_back.click(do_return, [picker, reason], outputs)
    adjudication = [picker, disputed, adj_score, adj_feedback]
    adjudicate.click(do_adjudicate, adjudication, outputs)
    adj_feedback.submit(do_adjudicate, adjudication, outputs)
    return LeadTab(picker=picker, show=show, outputs=outputs, load=load)
