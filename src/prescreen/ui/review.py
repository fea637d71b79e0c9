"""The review tab: an assessor works through one submission, detail by detail, blind to the earner.

For the detail on screen: the drafted status, its confidence and rationale, every cited passage with the quote
marked inside its page text, the earner's own self-analysis entry, and the pre-screen's issues; then the
assessor confirms or overrides the draft (a new status and a reason), scores the detail and writes feedback.
Once every detail is decided and scored, a recommendation and Submit finish the review.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from prescreen.review.workflow import AssessorView, DetailView, ReviewService
from prescreen.ui.common import (
    SCORE_CHOICES, STATUS_CHOICES, badge, bullet_list, current_user, esc, highlight, notice, pretty, skip, table,
    ui_errors,
)

ACTION_CHOICES = [("Confirm the drafted status", "confirm"), ("Override it", "override")]
RECOMMENDATION_CHOICES = [("Earned", "earned"), ("Not yet earned", "not_yet")]
NO_SUBMISSION = "<p class='ps-empty'>Choose a submission from your queue, then press Open.</p>"


# ---------------------------------------------------------------- HTML (every earner-provided text escaped)


def done(detail: DetailView) -> bool:
    return detail.decision is not None and detail.score is not None


def progress_line(view: AssessorView) -> str:
    finished = sum(done(d) for d in view.details)
    line = f"**{finished} of {len(view.details)} details decided and scored**"
    if view.submitted:
        return line + f" · review submitted (recommendation: {pretty(view.recommendation)})"
    if finished == len(view.details):
        return line + " · choose a recommendation below and submit"
    return line


def header_html(view: AssessorView) -> str:
    parts = [f"<h2 class='ps-title'>{esc(view.label)}</h2>",
             f"<p class='ps-meta'>{esc(view.rubric_title)} · <code>{esc(view.credential)}</code> · "
             f"{badge(view.status)}</p>"]
    if view.submitted:
        parts.append(notice("You have submitted this review: it is read-only now.", "ok"))
    if view.previous_attempt is not None:
        prev = view.previous_attempt
        parts.append(f"<p class='ps-meta'>Resubmission: attempt {prev.attempt} ended "
                     f"{esc(pretty(prev.result) or 'without a result (returned)')}.</p>")
    if view.flags:
        parts.append(f"<details class='ps-flags'><summary>Pre-screen flags ({len(view.flags)})</summary>"
                     f"{bullet_list(view.flags)}</details>")
    if view.artifacts:
        rows = [f"<code>{esc(a.artifact_id)}</code> {esc(a.title)} <span class='ps-dim'>({esc(a.kind)})</span>"
                for a in view.artifacts]
        parts.append("<details class='ps-flags'><summary>Files in the submission "
                     f"({len(rows)})</summary><ul>{''.join(f'<li>{r}</li>' for r in rows)}</ul></details>")
    return "\n".join(parts)


def overview_html(view: AssessorView, current: str | None) -> str:
    rows = []
    for d in view.details:
        decision = "—"
        if d.decision:
            action, new_status, _ = d.decision
            decision = "confirmed" if action == "confirm" else f"override → {badge(new_status)}"
        score = badge(d.score[0]) if d.score else "—"
        name = f"<strong>{esc(d.detail_id)}</strong>" if d.detail_id == current else esc(d.detail_id)
        rows.append([name, badge(d.drafted_status), decision, score])
    return table(["Detail", "Drafted", "Your decision", "Your score"], rows, "ps-table ps-overview")


def citation_html(citation) -> str:
    title = f" {esc(citation.title)}" if citation.title and citation.title != citation.artifact_id else ""
    caption = f"<code>{esc(citation.artifact_id)}</code>{title} · <span class='ps-where'>{esc(citation.where)}</span>"
    passage = highlight(citation.context_before, citation.quote, citation.context_after)
    return f"<figure class='ps-cite'><figcaption>{caption}</figcaption><blockquote>{passage}</blockquote></figure>"


def self_analysis_html(detail: DetailView) -> str:
    if not detail.self_analysis:
        return "<p class='ps-dim'>The earner's self-analysis has no entry for this detail.</p>"
    items = []
    for entry in detail.self_analysis:
        where = " · ".join(esc(x) for x in (entry.artifact_id, entry.locator) if x) or "no evidence named"
        explanation = esc(entry.explanation) or "<em class='ps-dim'>no explanation given</em>"
        items.append(f"<div class='ps-self'><p class='ps-where'>Points to: {where}</p><p>{explanation}</p></div>")
    return "".join(items)


def previous_html(view: AssessorView, detail: DetailView) -> str:
    prev = view.previous_attempt
    if prev is None:
        return ""
    lines = [f"Last attempt: {esc(p.feedback)}" for p in prev.not_yet if p.detail_id == detail.detail_id]
    before = prev.previous_drafted_status.get(detail.detail_id)
    if before and prev.drafted_status_changed.get(detail.detail_id):
        lines.append(f"Drafted status changed since attempt {prev.attempt}: was {esc(before)}")
    if not lines:
        return ""
    return "<h4>Previous attempt</h4><ul>" + "".join(f"<li>{line}</li>" for line in lines) + "</ul>"


def provenance_html(detail: DetailView) -> str:
    """Who drafted the finding: the LLM (`llm:<model>`), or the extractive drafter, standing in when the LLM
    failed for the detail's outcome. Shown once the review's DetailView carries the finding's provenance."""
    drafted_by = getattr(detail, "drafted_by", None)
    if not drafted_by:
        return ""
    reason = getattr(detail, "fallback_reason", None)
    text = f"drafted by {drafted_by}" + (f", standing in for the LLM ({reason})" if reason else "")
    return f" <span class='ps-dim ps-provenance'>· {esc(text)}</span>"


def detail_html(view: AssessorView, detail: DetailView) -> str:
    citations = "".join(citation_html(c) for c in detail.citations) or (
        "<p class='ps-dim'>No passage cited: the pre-screen found no evidence for this detail.</p>")
    issues = bullet_list(detail.issues, "ps-issues") or "<p class='ps-dim'>None.</p>"
    return (
        f"<section class='ps-detail' aria-label='Detail {esc(detail.detail_id)}'>"
        f"<h3>{esc(detail.detail_id)} <span class='ps-dim'>· outcome {esc(detail.outcome_id)}</span></h3>"
        f"<p class='ps-detail-text'>{esc(detail.text)}</p>"
        f"<p>Drafted: {badge(detail.drafted_status)} <span class='ps-dim'>confidence "
        f"{detail.confidence:.2f}</span>{provenance_html(detail)}</p>"
        f"<p class='ps-rationale'>{esc(detail.rationale)}</p>"
        f"<h4>Cited passages ({len(detail.citations)})</h4>{citations}"
        f"<h4>The earner's self-analysis</h4>{self_analysis_html(detail)}"
        f"<h4>Issues found by the pre-screen</h4>{issues}"
        f"{previous_html(view, detail)}</section>"
    )


def detail_choices(view: AssessorView) -> list[tuple[str, str]]:
    def mark(d: DetailView) -> str:
        return "done" if done(d) else "decided" if d.decision else "scored" if d.score else "to do"

    return [(f"{d.detail_id} · {mark(d)} · {_short(d.text)}", d.detail_id) for d in view.details]


def _short(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def find_detail(view: AssessorView, detail_id: str | None) -> DetailView:
    for detail in view.details:
        if detail.detail_id == detail_id:
            return detail
    return view.details[0]


def step(view: AssessorView, detail_id: str, offset: int) -> str:
    ids = [d.detail_id for d in view.details]
    return ids[(ids.index(detail_id) + offset) % len(ids)] if detail_id in ids else ids[0]


def next_open(view: AssessorView, detail_id: str) -> str:
    """The next detail (after this one, wrapping) still to decide or score; this one when all are done."""
    ids = [d.detail_id for d in view.details]
    start = ids.index(detail_id) if detail_id in ids else -1
    for k in range(1, len(ids) + 1):
        candidate = view.details[(start + k) % len(ids)]
        if not done(candidate):
            return candidate.detail_id
    return detail_id


def implied_recommendation(view: AssessorView) -> str | None:
    """What the scores imply once all are in: earned only when every detail is demonstrated."""
    if not view.details or not all(d.score for d in view.details):
        return None
    return "earned" if all(d.score[0] == "demonstrated" for d in view.details) else "not_yet"


# ---------------------------------------------------------------- the tab


@dataclass
class ReviewTab:
    picker: gr.Dropdown
    show: object  # (submission, request) -> updates of `outputs`
    outputs: list
    choices: object  # (request) -> update of `picker`


def build(service: ReviewService) -> ReviewTab:  # noqa: PLR0915 - one layout, read top to bottom
    view_state = gr.State(None)
    with gr.Row(elem_classes=["ps-bar"]):
        picker = gr.Dropdown(label="Submission (your assigned ones; the earner's identity is never shown)",
                             choices=[], value=None, scale=4, elem_id="review-submission")
        open_button = gr.Button("Open", variant="primary", size="md", scale=0, min_width=140, elem_id="review-open")
    header = gr.HTML(NO_SUBMISSION, elem_id="review-header")
    progress = gr.Markdown("", elem_id="review-progress")
    with gr.Row():
        with gr.Column(scale=3, min_width=420):
            with gr.Row(elem_classes=["ps-bar"]):
                detail_picker = gr.Dropdown(label="Rubric detail", choices=[], value=None, scale=4,
                                            elem_id="review-detail")
                prev_button = gr.Button("← Previous", scale=0, min_width=120, size="md", elem_id="review-prev")
                next_button = gr.Button("Next →", scale=0, min_width=120, size="md", elem_id="review-next")
            detail = gr.HTML("", elem_id="review-detail-panel")
        with gr.Column(scale=2, min_width=320, elem_classes=["ps-controls"]):
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
            overview = gr.HTML("", elem_id="review-overview")
    with gr.Group(elem_classes=["ps-final"]):
        gr.Markdown("### Recommendation", padding=True)
        with gr.Row(elem_classes=["ps-bar"]):
            recommendation = gr.Radio(RECOMMENDATION_CHOICES, label="Your recommendation", scale=2,
                                      elem_id="review-recommendation",
                                      info="Earned only when every detail is demonstrated.")
            comment = gr.Textbox(label="Comment for the lead (optional)", lines=1, max_lines=4, scale=3,
                                 elem_id="review-comment")
            submit = gr.Button("Submit review", variant="primary", size="md", scale=0, min_width=160,
                               elem_id="review-submit")

    editable = [action, new_status, reason, score, feedback, save_next, save, recommendation, comment, submit]
    outputs = [view_state, header, progress, detail_picker, detail, overview, saved, *editable]

    def render(view: AssessorView, detail_id: str | None, message: str = "") -> dict:
        current = find_detail(view, detail_id)
        decision = current.decision or (None, None, "")
        scored = current.score or (None, "")
        live = not view.submitted
        return {
            view_state: view, header: header_html(view), progress: progress_line(view),
            detail_picker: gr.Dropdown(choices=detail_choices(view), value=current.detail_id),
            detail: detail_html(view, current), overview: overview_html(view, current.detail_id),
            saved: notice(message, "ok") if message else "",
            action: gr.Radio(value=decision[0], interactive=live),
            new_status: gr.Dropdown(value=decision[1], interactive=live),
            reason: gr.Textbox(value=decision[2], interactive=live),
            score: gr.Radio(value=scored[0], interactive=live),
            feedback: gr.Textbox(value=scored[1], interactive=live),
            save_next: gr.Button(interactive=live), save: gr.Button(interactive=live),
            recommendation: gr.Radio(value=view.recommendation or implied_recommendation(view), interactive=live),
            comment: gr.Textbox(value=view.comment, interactive=live), submit: gr.Button(interactive=live),
        }

    @ui_errors
    def choices(request: gr.Request):
        user = current_user(service, request)
        if user.role != "assessor":
            return gr.skip()
        items = service.queue(user.username)
        return gr.Dropdown(choices=[(f"{i.label} · {pretty(i.status)}", i.submission) for i in items])

    @ui_errors
    def show(submission, request: gr.Request):
        user = current_user(service, request)
        if user.role != "assessor":
            return skip(outputs)
        if submission is None:
            raise gr.Error("Choose a submission first (the list holds the ones assigned to you).")
        view = service.open(user.username, int(submission))
        first = next((d.detail_id for d in view.details if not done(d)), None)
        return render(view, first)

    @ui_errors
    def goto(view, detail_id, offset: int = 0):
        if view is None:
            raise gr.Error("Open a submission first.")
        return render(view, step(view, detail_id, offset) if offset else detail_id)

    def save_detail(advance: bool):
        @ui_errors
        def handler(view, detail_id, act, status, why, value, note, request: gr.Request):
            user = current_user(service, request)
            if view is None:
                raise gr.Error("Open a submission first.")
            if not act and not value:
                raise gr.Error(f"Nothing to save for {detail_id}: confirm or override the draft, and/or score it.")
            if act:
                view = service.decide(user.username, view.submission, detail_id, act,
                                      status if act == "override" else None, why or "")
            if value:
                view = service.score(user.username, view.submission, detail_id, value, note or "")
            target = next_open(view, detail_id) if advance else detail_id
            return render(view, target, f"Saved {detail_id}.")

        return handler

    @ui_errors
    def submit_review(view, choice, note, request: gr.Request):
        user = current_user(service, request)
        if view is None:
            raise gr.Error("Open a submission first.")
        if not choice:
            raise gr.Error("Choose a recommendation (Earned or Not yet earned) before submitting.")
        view = service.submit(user.username, view.submission, choice, note or "")
        return render(view, view.details[0].detail_id, "Review submitted. Thank you.")

    open_button.click(show, [picker], outputs)
    picker.input(show, [picker], outputs)
    detail_picker.input(goto, [view_state, detail_picker], outputs)
    prev_button.click(lambda v, d: goto(v, d, -1), [view_state, detail_picker], outputs)
    next_button.click(lambda v, d: goto(v, d, +1), [view_state, detail_picker], outputs)
    fields = [view_state, detail_picker, action, new_status, reason, score, feedback]
    save_next.click(save_detail(True), fields, outputs)
    save.click(save_detail(False), fields, outputs)
    reason.submit(save_detail(False), fields, outputs)
    feedback.submit(save_detail(True), fields, outputs)
    submit.click(submit_review, [view_state, recommendation, comment], outputs)
    return ReviewTab(picker=picker, show=show, outputs=outputs, choices=choices)
