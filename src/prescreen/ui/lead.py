"""The lead tab: ingest bundles, assign two assessors (or auto-assign), return an incomplete submission to the
earner, and adjudicate the details the two assessors disagreed on. Shows the final result once recorded.

What the lead sees is unmasked (the earner's identity included): this tab is never filled for an assessor.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from prescreen.errors import PrescreenError
from prescreen.review.workflow import (
    AdjudicationItem,
    AssessorWork,
    LeadView,
    ReviewService,
    SubmissionView,
    allowed_now,
)
from prescreen.ui import queue as queue_tab
from prescreen.ui.common import (
    SCORE_CHOICES,
    badge,
    bullet_list,
    current_user,
    esc,
    notice,
    pretty,
    table,
    ui_errors,
)
from prescreen.ui.review_html import citation_html, final_html

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


def adjudication_html(view: LeadView) -> str:
    """Each disputed detail with what settling it needs: its text, the drafted finding and its cited passages,
    and both assessors' decisions, override reasons, scores and feedback. The first unsettled one is open."""
    first_open = next((i.detail_id for i in view.adjudication if i.lead_score is None), None)
    return "".join(adjudication_item_html(item, item.detail_id == first_open) for item in view.adjudication)


def adjudication_item_html(item: AdjudicationItem, is_open: bool) -> str:
    drafted = item.drafted
    citations = "".join(citation_html(c) for c in drafted.citations) or "<p class='ps-dim'>No passage cited.</p>"
    rows = [[esc(w.assessor), decision_words(w), f"<div class='ps-pre'>{esc(w.reason)}</div>", badge(w.score),
             f"<div class='ps-pre'>{esc(w.feedback)}</div>"] for w in item.assessors]
    settled = f" · your score: {badge(item.lead_score)}" if item.lead_score else ""
    return (f"<details class='ps-flags ps-adjudication-item' {'open' if is_open else ''}>"
            f"<summary>{esc(item.detail_id)}: {esc(item.detail_text)}{settled}</summary>"
            f"<p>Drafted: {badge(drafted.drafted_status)} <span class='ps-dim'>confidence "
            f"{drafted.confidence:.2f}</span></p><p class='ps-rationale'>{esc(drafted.rationale)}</p>"
            f"<h4>Cited passages ({len(drafted.citations)})</h4>{citations}"
            f"{table(['Assessor', 'Decision', 'Override reason', 'Score', 'Feedback'], rows)}</details>")


def decision_words(work: AssessorWork) -> str:
    if work.action == "override":
        return f"overrode it → {badge(work.new_status)}"
    return "confirmed it" if work.action == "confirm" else "—"


# ---------------------------------------------------------------- ingest: uploaded originals never linger


def ingest_upload(service: ReviewService, user: str, bundle: Path, uploaded: bool) -> SubmissionView:
    """Screen and store the bundle. An upload (Gradio's temporary copy of the earner's raw, unmasked work) is
    deleted as soon as ingest has read it, whatever the outcome; messages name it by its file name only."""
    try:
        return service.ingest(user, bundle)
    except PrescreenError as exc:
        raise gr.Error(without_paths(str(exc), bundle)) from None
    finally:
        if uploaded:
            forget_upload(bundle)


def without_paths(message: str, bundle: Path) -> str:
    """The message with the bundle's server path (and its folder) replaced by the bundle's file name."""
    for place in (str(bundle), str(bundle.parent) + "/", str(bundle.parent)):
        message = message.replace(place, bundle.name if place == str(bundle) else "")
    return message


def forget_upload(bundle: Path) -> None:
    """Delete Gradio's copy of an upload, and its folder once empty (Gradio makes one folder per upload)."""
    bundle.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: another upload with the same content is still there
        bundle.parent.rmdir()


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
        evidence = gr.HTML("", elem_id="lead-evidence", padding=True)
        with gr.Row(elem_classes=["ps-bar"]):
            disputed = gr.Dropdown(label="Disputed detail", choices=[], value=None, elem_id="lead-disputed")
            adj_score = gr.Radio(SCORE_CHOICES, label="Your score", elem_id="lead-adj-score")
            adj_feedback = gr.Textbox(label="Feedback for the earner", lines=1, max_lines=4, scale=2,
                                      elem_id="lead-adj-feedback", info="Enter records it.")
            adjudicate = gr.Button("Record adjudication", variant="primary", size="md", scale=0, min_width=190,
                                   elem_id="lead-adjudicate-button")
    final = gr.HTML("", elem_id="lead-final")

    outputs = [message, listing, picker, summary, assign_group, first, second, return_group, reason, scores,
               adjudicate_group, evidence, disputed, adj_score, adj_feedback, final]

    def listing_updates(user: str, selected: int | None = None) -> dict:
        items = queue_tab.queue_of(service, user, lead=True)
        people = [(f"{a.display_name or a.username} ({a.username})", a.username) for a in service.assessors()]
        return {listing: {"headers": queue_tab.LEAD_HEADERS, "data": queue_tab.rows(items, lead=True)},
                picker: gr.Dropdown(choices=queue_tab.choices(items), value=selected),
                first: gr.Dropdown(choices=people), second: gr.Dropdown(choices=people)}

    def render(user: str, view: LeadView, text: str = "", kind: str = "ok") -> dict:
        open_disputes = [d for d in view.disputed if d not in view.adjudications]
        allowed = allowed_now(view.status)
        return {
            **listing_updates(user, view.submission), message: notice(text, kind) if text else "",
            summary: summary_html(view), scores: scores_html(view), final: final_html(view.final),
            assign_group: gr.Group(visible="assign" in allowed),
            return_group: gr.Group(visible="return_to_earner" in allowed), reason: "",
            adjudicate_group: gr.Group(visible="adjudicate" in allowed), evidence: adjudication_html(view),
            disputed: gr.Dropdown(choices=view.disputed, value=open_disputes[0] if open_disputes else None),
            adj_score: None, adj_feedback: "",
        }

    def lead_or_none(request: gr.Request) -> str | None:
        """The lead's username; None for anyone else (a page load, where the tab stays empty)."""
        user = current_user(service, request)
        return user.username if user.role == "lead" else None

    def lead_of(request: gr.Request) -> str:
        """The lead's username; a refusal for anyone else (an action)."""
        user = lead_or_none(request)
        if user is None:
            raise gr.Error("Only a lead can do this.")
        return user

    @ui_errors
    def load_lead_lists(request: gr.Request):
        user = lead_or_none(request)
        return listing_updates(user) if user else gr.skip()

    @ui_errors
    def show_lead_view(submission, request: gr.Request):
        """The chosen submission for a lead; nothing for anyone else, or when none is chosen (a queue row)."""
        user = lead_or_none(request)
        if user is None or submission is None:
            return gr.skip()
        return render(user, service.lead_view(user, int(submission)))

    @ui_errors
    def open_lead_view(submission, request: gr.Request):
        if submission is None:
            raise gr.Error("Choose a submission first.")
        return show_lead_view(submission, request)

    @ui_errors
    def ingest_bundle(uploaded, typed, request: gr.Request, progress=gr.Progress()):  # noqa: B008 - Gradio's way
        user = lead_of(request)
        bundle = uploaded or (typed or "").strip()
        if not bundle:
            raise gr.Error("Upload a bundle (.zip), or type the path of a bundle folder or .zip on this server.")
        if not Path(bundle).exists():
            raise gr.Error(f"{Path(bundle).name}: no such file or folder on the server.")
        progress(0, desc="Screening the bundle: reading its files, indexing them, drafting findings")
        sub = ingest_upload(service, user, Path(bundle), uploaded=bool(uploaded))
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
    one = [message]  # one progress indicator, by the message, not one per output

    def clear_upload():
        """Whatever the ingest's outcome, the upload is gone from the server: the field shows it."""
        return None

    for trigger in (ingest.click, path.submit):
        ingested = trigger(ingest_bundle, [upload, path], [*outputs, upload, path], concurrency_id=screening,
                           show_progress_on=one)
        ingested.then(clear_upload, None, [upload], show_progress="hidden")
    open_button.click(open_lead_view, [picker], outputs, show_progress_on=one)
    picker.input(open_lead_view, [picker], outputs, show_progress_on=one)
    listing.select(queue_tab.picked_row, None, picker).then(show_lead_view, [picker], outputs, show_progress_on=one)
    assign.click(do_assign, [picker, first, second], outputs, show_progress_on=one)
    auto.click(do_auto, [picker], outputs, show_progress_on=one)
    reason.submit(do_return, [picker, reason], outputs, show_progress_on=one)
    give_back.click(do_return, [picker, reason], outputs, show_progress_on=one)
    adjudication = [picker, disputed, adj_score, adj_feedback]
    adjudicate.click(do_adjudicate, adjudication, outputs, show_progress_on=one)
    adj_feedback.submit(do_adjudicate, adjudication, outputs, show_progress_on=one)
    return LeadTab(picker=picker, show=show_lead_view, outputs=outputs, load=load_lead_lists)
