"""The lead tab: ingest bundles, assign two assessors (or auto-assign), return an incomplete submission to the
earner, and adjudicate the details the two assessors disagreed on. Shows the final result once recorded.

What the lead sees is unmasked (the earner's identity included): this tab is never filled for an assessor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from prescreen.errors import PrescreenError
from prescreen.review.service import STORING
from prescreen.review.workflow import LeadView, ReviewService, SubmissionView, allowed_now
from prescreen.ui import queue as queue_tab
from prescreen.ui.common import SCORE_CHOICES, current_user, notice, pretty, ui_errors
from prescreen.ui.lead_html import (  # noqa: F401 - the tab's HTML, read by tests as lead.*
    adjudication_html,
    scores_html,
    summary_html,
)
from prescreen.ui.review_html import final_html

NO_SUBMISSION = "<p class='ps-empty'>Choose a submission, then press Open.</p>"


# ---------------------------------------------------------------- ingest: uploaded originals never linger


#: ingest's steps as the pipeline and the service name them, in order: one bar moves through them
INGEST_STEPS = ["opening the bundle", "reading the files", "indexing", "retrieving evidence", "drafting findings",
                STORING]


def progress_bar(progress: Callable[..., object]) -> Callable[[str], None]:
    """A progress callback for ingest that moves one bar (a gr.Progress) to the step it is told, by its name."""
    def told(step: str) -> None:
        done = INGEST_STEPS.index(step) if step in INGEST_STEPS else 0
        progress((done, len(INGEST_STEPS)), desc=f"{step[:1].upper()}{step[1:]}…", unit="steps")
    return told


def ingest_upload(service: ReviewService, user: str, bundle: Path, uploaded: bool,
                  progress: Callable[[str], None] | None = None) -> SubmissionView:
    """Screen and store the bundle, telling `progress` each step. An upload (Gradio's temporary copy of the
    earner's raw, unmasked work) is deleted as soon as ingest has read it, whatever the outcome; messages name
    it by its file name only."""
    try:
        return service.ingest(user, bundle, progress)
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


@dataclass
class LeadForm:
    """The tab's components, section by section, top to bottom."""

    upload: gr.File
    path: gr.Textbox
    ingest: gr.Button
    message: gr.HTML
    listing: gr.Dataframe
    picker: gr.Dropdown
    open_button: gr.Button
    summary: gr.HTML
    assign_group: gr.Group
    first: gr.Dropdown
    second: gr.Dropdown
    assign: gr.Button
    auto: gr.Button
    return_group: gr.Group
    reason: gr.Textbox
    give_back: gr.Button
    scores: gr.HTML
    adjudicate_group: gr.Group
    evidence: gr.HTML
    disputed: gr.Dropdown
    adj_score: gr.Radio
    adj_feedback: gr.Textbox
    adjudicate: gr.Button
    final: gr.HTML

    def outputs(self) -> list:
        return [self.message, self.listing, self.picker, self.summary, self.assign_group, self.first, self.second,
                self.return_group, self.reason, self.scores, self.adjudicate_group, self.evidence, self.disputed,
                self.adj_score, self.adj_feedback, self.final]


def layout() -> LeadForm:
    parts = {**ingest_section(), **listing_section(), **assign_section(), **return_section()}
    parts["scores"] = gr.HTML("", elem_id="lead-scores")
    parts |= adjudicate_section()
    parts["final"] = gr.HTML("", elem_id="lead-final")
    return LeadForm(**parts)


def ingest_section() -> dict:
    gr.Markdown("### Ingest a bundle")
    with gr.Row():
        upload = gr.File(label="Submission bundle (.zip)", file_types=[".zip"], type="filepath", scale=2,
                         elem_id="lead-upload", height=120)
        with gr.Column(scale=2):
            path = gr.Textbox(label="…or a folder or .zip on this server", lines=1, elem_id="lead-path",
                              placeholder="/srv/bundles/S-2026-0117.zip", info="Enter ingests it.")
            ingest = gr.Button("Ingest", variant="primary", elem_id="lead-ingest")
    return dict(upload=upload, path=path, ingest=ingest, message=gr.HTML("", elem_id="lead-message"))


def listing_section() -> dict:
    gr.Markdown("### Submissions")
    listing = gr.Dataframe(headers=queue_tab.LEAD_HEADERS, value=[], interactive=False, wrap=True,
                           elem_id="lead-table", max_height=360, label="All submissions (click a row to open it)",
                           column_widths=queue_tab.LEAD_WIDTHS, elem_classes=["ps-frame"])
    with gr.Row(elem_classes=["ps-bar"]):
        picker = gr.Dropdown(label="Submission", choices=[], value=None, scale=4, elem_id="lead-submission")
        open_button = gr.Button("Open", variant="primary", size="md", scale=0, min_width=140, elem_id="lead-open")
    return dict(listing=listing, picker=picker, open_button=open_button,
                summary=gr.HTML(NO_SUBMISSION, elem_id="lead-summary"))


def assign_section() -> dict:
    with gr.Group(visible=False, elem_id="lead-assign") as assign_group:
        gr.Markdown("#### Assign two assessors", padding=True)
        with gr.Row(elem_classes=["ps-bar"]):
            first = gr.Dropdown(label="First assessor", choices=[], value=None, elem_id="lead-first")
            second = gr.Dropdown(label="Second assessor", choices=[], value=None, elem_id="lead-second")
            assign = gr.Button("Assign these two", variant="primary", size="md", scale=0, min_width=170,
                               elem_id="lead-assign-button")
            auto = gr.Button("Auto-assign (least loaded)", size="md", scale=0, min_width=220,
                             elem_id="lead-auto-assign")
    return dict(assign_group=assign_group, first=first, second=second, assign=assign, auto=auto)


def return_section() -> dict:
    with gr.Group(visible=False, elem_id="lead-return") as return_group:
        gr.Markdown("#### Return to the earner", padding=True)
        with gr.Row(elem_classes=["ps-bar"]):
            reason = gr.Textbox(label="Reason (the earner reads it)", lines=1, scale=4, elem_id="lead-return-reason",
                                placeholder="What is missing and how to fix it", info="Enter returns it.")
            give_back = gr.Button("Return to earner", variant="stop", size="md", scale=0, min_width=170,
                                  elem_id="lead-return-button")
    return dict(return_group=return_group, reason=reason, give_back=give_back)


def adjudicate_section() -> dict:
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
    return dict(adjudicate_group=adjudicate_group, evidence=evidence, disputed=disputed, adj_score=adj_score,
                adj_feedback=adj_feedback, adjudicate=adjudicate)


def render(f: LeadForm, listed: dict, view: LeadView, text: str = "", kind: str = "ok") -> dict:
    """Every output of the tab for `view`; `listed`: the list and assessor choices (listing_updates)."""
    open_disputes = [d for d in view.disputed if d not in view.adjudications]
    allowed = allowed_now(view.state)
    return {
        **listed, f.message: notice(text, kind) if text else "",
        f.summary: summary_html(view), f.scores: scores_html(view), f.final: final_html(view.final),
        f.assign_group: gr.Group(visible="assign" in allowed),
        f.return_group: gr.Group(visible="return_to_earner" in allowed), f.reason: "",
        f.adjudicate_group: gr.Group(visible="adjudicate" in allowed), f.evidence: adjudication_html(view),
        f.disputed: gr.Dropdown(choices=view.disputed, value=open_disputes[0] if open_disputes else None),
        f.adj_score: None, f.adj_feedback: "",
    }


def build(service: ReviewService) -> LeadTab:
    f = layout()
    outputs = f.outputs()

    def listing_updates(user: str, selected: int | None = None) -> dict:
        items = queue_tab.queue_of(service, user, lead=True)
        people = [(f"{a.display_name or a.username} ({a.username})", a.username) for a in service.assessors()]
        return {f.listing: {"headers": queue_tab.LEAD_HEADERS, "data": queue_tab.rows(items, lead=True)},
                f.picker: gr.Dropdown(choices=queue_tab.choices(items), value=selected),
                f.first: gr.Dropdown(choices=people), f.second: gr.Dropdown(choices=people)}

    def shown(user: str, submission: int, text: str = "", kind: str = "ok") -> dict:
        view = service.lead_view(user, submission)
        return render(f, listing_updates(user, view.submission), view, text, kind)

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

    def opened(submission) -> int:
        if submission is None:
            raise gr.Error("Open a submission first.")
        return int(submission)

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
        return shown(user, int(submission))

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
        sub = ingest_upload(service, user, Path(bundle), uploaded=bool(uploaded), progress=progress_bar(progress))
        text = f"Ingested {sub.label}: {pretty(sub.state)} (readiness {pretty(sub.readiness)})."
        return {**shown(user, sub.id, text, "warn" if sub.incomplete else "ok"), f.upload: None, f.path: ""}

    @ui_errors
    def do_assign(submission, a, b, request: gr.Request):
        user = lead_of(request)
        if submission is None or not a or not b:
            raise gr.Error("Open a submission and choose two assessors, or press Auto-assign.")
        view = service.assign(user, int(submission), [a, b])
        return shown(user, view.id, f"Assigned to {' and '.join(view.assigned_to)}.")

    @ui_errors
    def do_auto(submission, request: gr.Request):
        user = lead_of(request)
        view = service.auto_assign(user, opened(submission))
        return shown(user, view.id, f"Assigned to {' and '.join(view.assigned_to)}.")

    @ui_errors
    def do_return(submission, why, request: gr.Request):
        user = lead_of(request)
        view = service.return_to_earner(user, opened(submission), why or "")
        return shown(user, view.id, "Returned to the earner.")

    @ui_errors
    def do_adjudicate(submission, detail, value, note, request: gr.Request):
        user = lead_of(request)
        if submission is None or not detail or not value:
            raise gr.Error("Choose the disputed detail and your score.")
        view = service.adjudicate(user, int(submission), detail, value, note or "")
        done = " The final result is recorded." if view.state == "final" else ""
        return shown(user, view.id, f"Recorded {detail}: {pretty(value)}.{done}")

    wire(f, dict(open_lead_view=open_lead_view, show_lead_view=show_lead_view, ingest_bundle=ingest_bundle,
                 do_assign=do_assign, do_auto=do_auto, do_return=do_return, do_adjudicate=do_adjudicate))
    return LeadTab(picker=f.picker, show=show_lead_view, outputs=outputs, load=load_lead_lists)


def clear_upload():
    """Whatever the ingest's outcome, the upload is gone from the server: the field shows it."""
    return None


def wire(f: LeadForm, h: dict) -> None:
    """Connects the components to the handlers `h` (by name); one progress indicator, by the message."""
    outputs, one = f.outputs(), [f.message]
    for trigger in (f.ingest.click, f.path.submit):
        ingested = trigger(h["ingest_bundle"], [f.upload, f.path], [*outputs, f.upload, f.path],
                           concurrency_id="ingest", show_progress_on=one)  # one screening at a time: the model
        ingested.then(clear_upload, None, [f.upload], show_progress="hidden")
    f.open_button.click(h["open_lead_view"], [f.picker], outputs, show_progress_on=one)
    f.picker.input(h["open_lead_view"], [f.picker], outputs, show_progress_on=one)
    f.listing.select(queue_tab.picked_row, None, f.picker).then(h["show_lead_view"], [f.picker], outputs,
                                                                 show_progress_on=one)
    f.assign.click(h["do_assign"], [f.picker, f.first, f.second], outputs, show_progress_on=one)
    f.auto.click(h["do_auto"], [f.picker], outputs, show_progress_on=one)
    for trigger in (f.reason.submit, f.give_back.click):
        trigger(h["do_return"], [f.picker, f.reason], outputs, show_progress_on=one)
    for trigger in (f.adjudicate.click, f.adj_feedback.submit):
        trigger(h["do_adjudicate"], [f.picker, f.disputed, f.adj_score, f.adj_feedback], outputs,
                show_progress_on=one)
