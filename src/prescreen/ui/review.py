"""The review tab: an assessor works through one submission, detail by detail, blind to the earner.

For the detail on screen: the drafted status, its confidence and rationale, every cited passage with the quote
marked inside its page text (its Full page button opens the whole page, paragraph or transcript stretch below,
masked), the earner's own self-analysis entry, and the pre-screen's issues; then the
assessor confirms or overrides the draft (a new status and a reason), scores the detail and writes feedback.
Once every detail is decided and scored, Submit finishes the review with the recommendation the scores imply.
Moving to another detail saves what was chosen on screen first (a draft, until decided and scored). Once the
submission is final, the assessor sees its final result (blind), for calibration.

Read the submission: any artifact or part, whole or at a page, paragraph, section or time, masked; it is set at
the earner's own pointer for the detail on screen. An assessor shown no draft (the program's anchoring check)
sees no decision controls: they read and score.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
from pydantic import BaseModel, Field

from prescreen.errors import PrescreenError
from prescreen.review.workflow import AssessorView, DetailView, ReviewService, override_choices
from prescreen.ui import queue, shortcuts
from prescreen.ui.common import SCORE_CHOICES, STATUS_CHOICES, current_user, message_for, notice, ui_errors, warn
from prescreen.ui.review_form import (
    Choices,
    detail_choices,
    done,
    find_detail,
    implied_recommendation,
    next_open,
    step,
    store,
    unsaved,
)
from prescreen.ui.review_html import (  # noqa: F401 - the tab's HTML, read by tests as review.*
    detail_html,
    final_html,
    header_html,
    no_draft_html,
    overview_html,
    place_choices,
    place_html,
    progress_line,
    source_choices,
    source_html,
)

ACTION_CHOICES = [("Confirm the drafted status", "confirm"), ("Override it", "override")]
NO_SUBMISSION = "<p class='ps-empty'>Choose a submission from your queue, then press Open.</p>"
NO_READING = "<p class='ps-dim'>Choose a file (the earner's pointer for this detail is filled in), then press Read.</p>"
NO_PLACE = "<p class='ps-dim'>Press Full page on a cited passage (or pick it here) to read its whole page.</p>"


# ---------------------------------------------------------------- the tab


class Screen(BaseModel):
    """What the assessor has on screen: the submission's view, the detail shown, the details opened so far."""

    view: AssessorView
    shown: str
    read: list[str] = Field(default_factory=list, description="Details shown this session (bulk confirm).")


@dataclass
class ReviewTab:
    picker: gr.Dropdown
    show: object  # (submission, request) -> updates of `outputs`
    outputs: list
    choices: object  # (request) -> update of `picker`


@dataclass
class PlaceArea:
    """Under the detail: the whole page of a cited passage, picked by its number (or its Full page button)."""

    box: gr.Accordion
    picker: gr.Radio
    html: gr.HTML


def place_area() -> PlaceArea:
    with gr.Accordion("The whole cited page", open=True, elem_id="review-place-box") as box:
        picker = gr.Radio([], label="Cited passage", elem_id="review-place-picker")
        html = gr.HTML(NO_PLACE, elem_id="review-place")
    return PlaceArea(box=box, picker=picker, html=html)


@dataclass
class ReaderArea:
    """Under the cited page: any file of the submission, whole or at a place, masked (the shown detail's first
    pointer of the earner's is filled in)."""

    box: gr.Accordion
    source: gr.Dropdown
    place: gr.Textbox
    read: gr.Button
    html: gr.HTML


def reader_area() -> ReaderArea:
    with gr.Accordion("Read the submission", open=False, elem_id="review-read-box") as box:
        with gr.Row(elem_classes=["ps-bar"]):
            source = gr.Dropdown(label="File (an artifact or a part)", choices=[], value=None, scale=3,
                                 elem_id="review-read-source")
            place = gr.Textbox(label="Page, paragraph, section or time (empty: the whole file)", scale=2,
                               elem_id="review-read-place", placeholder="p. 3 · para. 12 · § Heading · 04:10")
            read = gr.Button("Read", scale=0, min_width=100, size="md", elem_id="review-read")
        html = gr.HTML(NO_READING, elem_id="review-read-text")
    return ReaderArea(box=box, source=source, place=place, read=read, html=html)


@dataclass
class Form:
    """The tab's components that handlers read and update."""

    screen: gr.State
    header: gr.HTML
    progress: gr.Markdown
    detail_picker: gr.Dropdown
    detail: gr.HTML
    action: gr.Radio
    new_status: gr.Dropdown
    reason: gr.Textbox
    score: gr.Radio
    feedback: gr.Textbox
    saved: gr.HTML
    overview: gr.HTML
    buttons: list
    comment: gr.Textbox
    final: gr.HTML
    places: PlaceArea
    decision_box: gr.Column
    no_draft: gr.HTML
    bulk: gr.Button
    reader: ReaderArea

    def outputs(self) -> list:
        return [self.screen, self.header, self.progress, self.detail_picker, self.detail, self.action,
                self.new_status, self.reason, self.score, self.feedback, self.saved, self.overview, *self.buttons,
                self.comment, self.final, self.places.picker, self.places.html, self.decision_box, self.no_draft,
                self.reader.source, self.reader.place, self.reader.html]

    def choices(self) -> list:
        return [self.action, self.new_status, self.reason, self.score, self.feedback]


def layout() -> tuple[Form, dict]:
    """The components, top to bottom; returns the form and the buttons by name."""
    screen = gr.State(None)
    with gr.Row(elem_classes=["ps-bar"]):
        picker = gr.Dropdown(label="Submission (your assigned ones; the earner's identity is never shown)",
                             choices=[], value=None, scale=4, elem_id="review-submission")
        open_button = gr.Button("Open", variant="primary", size="md", scale=0, min_width=140, elem_id="review-open")
    header = gr.HTML(NO_SUBMISSION, elem_id="review-header")
    progress = gr.Markdown("", elem_id="review-progress")
    final = gr.HTML("", elem_id="review-final")
    with gr.Row():
        with gr.Column(scale=3, min_width=420):
            with gr.Row(elem_classes=["ps-bar"]):
                detail_picker = gr.Dropdown(label="Rubric detail", choices=[], value=None, scale=4,
                                            elem_id="review-detail")
                prev_button = gr.Button("← Previous", scale=0, min_width=120, size="md", elem_id="review-prev")
                next_button = gr.Button("Next →", scale=0, min_width=120, size="md", elem_id="review-next")
            detail = gr.HTML("", elem_id="review-detail-panel")
            places = place_area()
            reader = reader_area()
        with gr.Column(scale=2, min_width=320, elem_classes=["ps-controls"]):
            form, buttons = controls(screen, header, progress, detail_picker, detail, final, places, reader)
    buttons.update(picker=picker, open=open_button, prev=prev_button, next=next_button)
    return form, buttons


def controls(screen, header, progress, detail_picker, detail, final, places: PlaceArea,
             reader: ReaderArea) -> tuple[Form, dict]:
    """The decision, score and submit controls beside the detail."""
    no_draft = gr.HTML("", elem_id="review-no-draft")
    with gr.Column(elem_id="review-decision-box") as decision_box:  # hidden when no draft is shown
        gr.Markdown("### Your decision on the drafted finding")
        action = gr.Radio(ACTION_CHOICES, label="Drafted finding", elem_id="review-action")
        with gr.Row():
            new_status = gr.Dropdown(STATUS_CHOICES, value=None, label="New status (override only)",
                                     elem_id="review-new-status", scale=1)
            reason = gr.Textbox(label="Reason for the override", lines=1, max_lines=4, scale=2,
                                elem_id="review-reason", placeholder="Why the drafted status is wrong")
    gr.Markdown("### Your score")
    score = gr.Radio(SCORE_CHOICES, label="Score for this detail", elem_id="review-score")
    feedback = gr.Textbox(label="Feedback for the earner (needed for Not yet)", lines=1, max_lines=6,
                          elem_id="review-feedback", info="Enter saves and moves to the next detail.")
    with gr.Row():
        save_next = gr.Button("Save and go to next detail", variant="primary", size="md", scale=2,
                              elem_id="review-save-next")
        save = gr.Button("Save", size="md", scale=1, elem_id="review-save")
    saved = gr.HTML("", elem_id="review-saved")
    gr.HTML(shortcuts.help_html())
    bulk = gr.Button("Confirm the drafted findings I have read", size="sm", elem_id="review-bulk-confirm")
    overview = gr.HTML("", elem_id="review-overview")
    comment = gr.Textbox(label="Comment for the lead (optional)", lines=1, max_lines=4, elem_id="review-comment")
    submit = gr.Button("Submit review", variant="primary", size="md", elem_id="review-submit")
    form = Form(screen=screen, header=header, progress=progress, detail_picker=detail_picker, detail=detail,
                action=action, new_status=new_status, reason=reason, score=score, feedback=feedback, saved=saved,
                overview=overview, buttons=[save_next, save, bulk, submit], comment=comment, final=final,
                places=places, decision_box=decision_box, no_draft=no_draft, bulk=bulk, reader=reader)
    return form, dict(save_next=save_next, save=save, bulk=bulk, submit=submit)


def render(form: Form, view: AssessorView, detail_id: str | None, message: str = "", read=(), final=None) -> dict:
    """Every output of the tab for `view`, with `detail_id` on screen."""
    current = find_detail(view, detail_id)
    decision, scored = current.decision, current.score
    live = not view.submitted
    return {
        form.screen: Screen(view=view, shown=current.detail_id, read=sorted({*read, current.detail_id})),
        form.header: header_html(view), form.progress: progress_line(view),
        form.detail_picker: gr.Dropdown(choices=detail_choices(view), value=current.detail_id),
        form.detail: detail_html(view, current), form.overview: overview_html(view, current.detail_id),
        form.saved: notice(message, "ok") if message else "",
        form.action: gr.Radio(value=decision.action if decision else None, interactive=live),
        form.new_status: gr.Dropdown(choices=override_choices(current.drafted_status) if current.drafted_status else [],
                                     value=decision.new_status if decision else None, interactive=live),
        form.reason: gr.Textbox(value=decision.reason if decision else "", interactive=live),
        form.score: gr.Radio(value=scored.score if scored else None, interactive=live),
        form.feedback: gr.Textbox(value=scored.feedback if scored else "", interactive=live),
        **{button: gr.Button(interactive=live) for button in form.buttons},
        form.bulk: gr.Button(interactive=live, visible=not view.draft_hidden),  # no draft: nothing to confirm
        form.decision_box: gr.Column(visible=not view.draft_hidden), form.no_draft: no_draft_html(view),
        form.comment: gr.Textbox(value=view.comment, interactive=live),
        form.final: final_html(final, "Final result of this submission (for calibration)"),
        form.places.picker: gr.Radio(choices=place_choices(current), value=None),
        form.places.html: NO_PLACE,
        **reader_updates(form.reader, view, current),
    }


def reader_updates(reader: ReaderArea, view: AssessorView, detail: DetailView) -> dict:
    """The submission's files to pick from, set at the earner's first pointer for `detail` (the whole file when
    it names no place; nothing picked when it names no file of the submission)."""
    files = [a.artifact_id for a in view.artifacts]
    pointer = next((p for p in detail.self_analysis if p.artifact_id in files), None)
    return {reader.source: gr.Dropdown(choices=source_choices(view), value=pointer.artifact_id if pointer else None),
            reader.place: gr.Textbox(value=(pointer.locator or "") if pointer else ""), reader.html: NO_READING}


def build(service: ReviewService) -> ReviewTab:
    form, buttons = layout()
    outputs = form.outputs()

    def final_of(user: str, view: AssessorView):
        return service.final_result(user, view.submission) if view.state == "final" else None

    def shown_again(user: str, view: AssessorView, detail_id: str | None, message: str = "", read=()) -> dict:
        return render(form, view, detail_id, message, read, final_of(user, view))

    @ui_errors
    def review_choices(request: gr.Request):
        user = current_user(service, request)
        if user.role != "assessor":
            return gr.skip()
        return gr.Dropdown(choices=queue.choices(queue.queue_of(service, user.username, lead=False)))

    @ui_errors
    def show_review(submission, request: gr.Request):
        """The chosen submission for an assessor; nothing for anyone else, or when none is chosen."""
        user = current_user(service, request)
        if user.role != "assessor" or submission is None:
            return gr.skip()
        view = service.open(user.username, int(submission))
        first = next((d.detail_id for d in view.details if not done(d)), None)
        return shown_again(user.username, view, first)

    @ui_errors
    def open_review(submission, request: gr.Request):
        if submission is None:
            raise gr.Error("Choose a submission first (the list holds the ones assigned to you).")
        return show_review(submission, request)

    def opened(screen: Screen | None) -> Screen:
        if screen is None:
            raise gr.Error("Open a submission first.")
        return screen

    def move(screen, choices: Choices, request: gr.Request, offset: int = 0, target: str | None = None):
        """To another detail, saving the shown one's unsaved choices first; when they cannot be saved (an
        override without a reason...), stay and say why."""
        screen = opened(screen)
        view, shown = screen.view, screen.shown
        destination = target or step(view, shown, offset)
        if not unsaved(find_detail(view, shown), choices):
            return render(form, view, destination, read=screen.read)
        try:
            view = store(service, current_user(service, request).username, view, shown, choices)
        except PrescreenError as exc:
            warn(f"{shown} is not saved: {message_for(exc)} Complete it, or change it back, then move on.")
            return {form.detail_picker: gr.Dropdown(value=shown)}
        return render(form, view, destination, f"Saved your choices on {shown}.", screen.read)

    @ui_errors
    def go_previous(screen, act, status, why, value, note, request: gr.Request):
        return move(screen, Choices.of(act, status, why, value, note), request, offset=-1)

    @ui_errors
    def go_next(screen, act, status, why, value, note, request: gr.Request):
        return move(screen, Choices.of(act, status, why, value, note), request, offset=+1)

    @ui_errors
    def goto(screen, picked, act, status, why, value, note, request: gr.Request):
        return move(screen, Choices.of(act, status, why, value, note), request, target=picked)

    def save_shown(screen, choices: Choices, request: gr.Request, advance: bool):
        screen = opened(screen)
        shown = screen.shown
        if choices.empty():
            raise gr.Error(f"Nothing to save for {shown}: confirm or override the draft, and/or score it.")
        view = store(service, current_user(service, request).username, screen.view, shown, choices)
        return render(form, view, next_open(view, shown) if advance else shown, f"Saved {shown}.", screen.read)

    @ui_errors
    def save_here(screen, act, status, why, value, note, request: gr.Request):
        return save_shown(screen, Choices.of(act, status, why, value, note), request, advance=False)

    @ui_errors
    def save_and_next(screen, act, status, why, value, note, request: gr.Request):
        return save_shown(screen, Choices.of(act, status, why, value, note), request, advance=True)

    @ui_errors
    def confirm_read(screen, request: gr.Request):
        """Confirms the drafted finding of every detail shown this session and not decided yet (one decision each)."""
        screen = opened(screen)
        todo = [d.detail_id for d in screen.view.details if d.detail_id in screen.read and d.decision is None]
        if not todo:
            raise gr.Error("Every finding you have read is decided already: open the next detail to read it.")
        view = service.bulk_confirm(current_user(service, request).username, screen.view.submission, todo)
        return render(form, view, screen.shown, f"Confirmed {len(todo)}: {', '.join(todo)}.", screen.read)

    @ui_errors
    def open_place(screen, index, request: gr.Request):
        """The whole page of the shown detail's cited passage `index`, masked, the quote marked."""
        screen = opened(screen)
        if index is None:
            return gr.skip()
        user = current_user(service, request).username
        place = service.cited_place(user, screen.view.submission, screen.shown, int(index))
        return {form.places.html: place_html(place), form.places.box: gr.Accordion(open=True)}

    @ui_errors
    def read_file(screen, source_id, place, request: gr.Request):
        """A whole file of the submission, or the places `place` names, masked."""
        screen = opened(screen)
        if not source_id:
            raise gr.Error("Choose a file to read first.")
        user = current_user(service, request).username
        source = service.read_source(user, screen.view.submission, source_id, (place or "").strip() or None)
        return {form.reader.html: source_html(source), form.reader.box: gr.Accordion(open=True)}

    @ui_errors
    def submit_review(screen, note, request: gr.Request):
        screen = opened(screen)
        recommendation = implied_recommendation(screen.view)
        if recommendation is None:
            left = sum(not done(d) for d in screen.view.details)
            raise gr.Error(f"Decide and score every detail before submitting: {left} still to do.")
        user = current_user(service, request).username
        view = service.submit(user, screen.view.submission, recommendation, note or "")
        return shown_again(user, view, view.details[0].detail_id, "Review submitted. Thank you.", screen.read)

    wire(form, buttons, dict(open_review=open_review, goto=goto, go_previous=go_previous, go_next=go_next,
                             save_here=save_here, save_and_next=save_and_next, confirm_read=confirm_read,
                             submit_review=submit_review, open_place=open_place, read_file=read_file))
    return ReviewTab(picker=buttons["picker"], show=show_review, outputs=outputs, choices=review_choices)


def wire(form: Form, buttons: dict, h: dict) -> None:
    """Connects the components to the handlers `h` (by name)."""
    outputs, fields = form.outputs(), [form.screen, *form.choices()]
    one = [form.saved]  # one progress indicator, not one per output
    buttons["open"].click(h["open_review"], [buttons["picker"]], outputs, show_progress_on=one)
    buttons["picker"].input(h["open_review"], [buttons["picker"]], outputs, show_progress_on=one)
    picked = [form.screen, form.detail_picker, *form.choices()]
    form.detail_picker.input(h["goto"], picked, outputs, show_progress_on=one)
    buttons["prev"].click(h["go_previous"], fields, outputs, show_progress_on=one)
    buttons["next"].click(h["go_next"], fields, outputs, show_progress_on=one)
    buttons["save_next"].click(h["save_and_next"], fields, outputs, show_progress_on=one)
    buttons["save"].click(h["save_here"], fields, outputs, show_progress_on=one)
    form.reason.submit(h["save_here"], fields, outputs, show_progress_on=one)
    form.feedback.submit(h["save_and_next"], fields, outputs, show_progress_on=one)
    buttons["bulk"].click(h["confirm_read"], [form.screen], outputs, show_progress_on=one)
    buttons["submit"].click(h["submit_review"], [form.screen, form.comment], outputs, show_progress_on=one)
    places = form.places
    places.picker.input(h["open_place"], [form.screen, places.picker], [places.html, places.box],
                        show_progress_on=[places.html])
    reader = form.reader
    for trigger in (reader.read.click, reader.place.submit):
        trigger(h["read_file"], [form.screen, reader.source, reader.place], [reader.html, reader.box],
                show_progress_on=[reader.html])
