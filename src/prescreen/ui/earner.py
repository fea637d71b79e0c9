"""The earner's tab: My submissions · Build · Self-check · Submit · Results, over an EarnerService.

An earner starts a submission for a credential of the rubric library, writes or uploads Part 1 and Part 3 (with
a live word count), uploads artifacts with titles, and for every rubric detail picks the places in an artifact
that show it (the file as prescreen reads it: pages, headings and numbered paragraphs, cues with times) and
explains them. The self-check is labelled a pre-check, with no score. Submitting sends the bundle to the
program's queue; Results shows where it stands and, once final, the feedback per detail, and starts the next
attempt after a `not yet`. The draft is saved as they go and resumed from My submissions.

Only an earner's own work is shown: the service checks the owner on every call; for anyone else the tab stays
empty (the app hides it too). Uploaded files are stored with the draft and Gradio's copies deleted at once.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from prescreen.earner.service import EarnerService
from prescreen.earner.store import StoredDraft
from prescreen.models import Rubric, RubricPart
from prescreen.review.workflow import ReviewService
from prescreen.ui import earner_form as form
from prescreen.ui.common import current_user, notice, ui_errors
from prescreen.ui.earner_html import (
    NO_DRAFT,
    STYLE,
    artifacts_html,
    detail_html,
    details_html,
    download_html,
    drafts_html,
    header_html,
    places_intro,
    selfcheck_html,
    standing_html,
)
from prescreen.ui.lead import forget_upload

PRECHECK_NOTE = ("**Self-check: a pre-check, not an assessment.** It runs the same pre-screen the assessors get, on "
                 "the draft as saved, and tells you what to fix before you submit. It gives no score and does not "
                 "predict the outcome: assessors decide that.")
SUBMIT_NOTE = ("**Submit** sends the draft to your program's queue, where it is pre-screened and assessed; it is "
               "read-only afterwards. **Download** gives you the bundle as a .zip (a `submission.yaml` and your "
               "files), the same as a hand-made one.")


@dataclass
class PartSlot:
    """The fields of one text part (Part 1, Part 3 ...): shown only when the rubric has that many parts."""

    group: gr.Group
    title: gr.Markdown
    text: gr.Textbox
    upload: gr.File
    words: gr.Markdown


@dataclass
class EarnerTab:
    load: object  # (request) -> updates of `outputs`: the earner's submissions and credentials
    outputs: list


def part_slot(n: int) -> PartSlot:
    with gr.Group(visible=False) as group:
        title = gr.Markdown("", padding=True, elem_id=f"earner-part-{n}-title")
        with gr.Row():
            text = gr.Textbox(label="Write it here", lines=8, max_lines=30, scale=3, elem_id=f"earner-part-{n}-text",
                              info="Typing here replaces an uploaded file.")
            upload = gr.File(label="…or upload it (.md, .txt, .docx, .pdf)", type="filepath", scale=1, height=140,
                             elem_id=f"earner-part-{n}-file")
        words = gr.Markdown("", elem_id=f"earner-part-{n}-words", padding=True)
    return PartSlot(group, title, text, upload, words)


def build(service: ReviewService, earners: EarnerService | None = None) -> EarnerTab:  # noqa: PLR0915 - one layout
    if earners is None:
        from prescreen.settings import Settings

        earners = EarnerService.from_settings(Settings(), service)
    gr.HTML(STYLE, padding=False)
    message = gr.HTML("", elem_id="earner-message")
    with gr.Tabs(elem_id="earner-pages") as pages:
        with gr.Tab("My submissions", id="earner-mine"):
            drafts = gr.HTML("", elem_id="earner-drafts")
            with gr.Row(elem_classes=["ps-bar"]):
                picker = gr.Dropdown(label="Open a submission", choices=[], value=None, scale=4, elem_id="earner-draft")
                open_button = gr.Button("Open", variant="primary", scale=0, min_width=120, elem_id="earner-open")
            with gr.Row(elem_classes=["ps-bar"]):
                credential = gr.Dropdown(label="Credential", choices=[], value=None, scale=4,
                                         elem_id="earner-credential")
                start = gr.Button("Start a new submission", scale=0, min_width=220, elem_id="earner-start")
        with gr.Tab("Build", id="earner-build"):
            header = gr.HTML(NO_DRAFT, elem_id="earner-header")
            with gr.Accordion("About you (never shown to assessors)", open=False), gr.Row():
                name = gr.Textbox(label="Name", elem_id="earner-name")
                email = gr.Textbox(label="E-mail", elem_id="earner-email")
                organization = gr.Textbox(label="School or organization", elem_id="earner-organization")
            slots = [part_slot(n) for n in range(form.MAX_PARTS)]
            save = gr.Button("Save draft", variant="primary", elem_id="earner-save")
            gr.Markdown("### Artifacts")
            artifacts = gr.HTML("", elem_id="earner-artifacts")
            with gr.Row(elem_classes=["ps-bar"]):
                new_title = gr.Textbox(label="Title", scale=2, elem_id="earner-artifact-title",
                                       placeholder="Equity audit, slides for staff")
                new_file = gr.File(label="File (PDF, DOCX, Markdown or text, .vtt/.srt transcript)", type="filepath",
                                   scale=2, height=120, elem_id="earner-artifact-file")
                add = gr.Button("Add artifact", scale=0, min_width=150, elem_id="earner-add-artifact")
            with gr.Row(elem_classes=["ps-bar"]):
                dropped = gr.Dropdown(label="Artifact to remove", choices=[], value=None, scale=2,
                                      elem_id="earner-remove-pick")
                remove = gr.Button("Remove artifact", variant="stop", scale=0, min_width=170,
                                   elem_id="earner-remove-artifact")
            gr.Markdown("### Self-analysis: for every detail, point to the evidence and explain it")
            entries = gr.HTML("", elem_id="earner-entries")
            detail = gr.Dropdown(label="Detail", choices=[], value=None, elem_id="earner-detail")
            detail_text = gr.HTML("", elem_id="earner-detail-text")
            artifact = gr.Dropdown(label="Artifact that shows it", choices=[], value=None, elem_id="earner-artifact")
            places_note = gr.HTML("", elem_id="earner-places-note")
            places = gr.CheckboxGroup(label="Places in the file", choices=[], value=[], elem_id="earner-places")
            pointer = gr.Textbox(label="Pointer", elem_id="earner-pointer",
                                 info="Written when you tick places; or type p. 3, para. 4, § Heading, 00:04:10")
            explanation = gr.Textbox(label="How this evidence shows the detail", lines=3, elem_id="earner-explanation")
            save_entry = gr.Button("Save this detail", variant="primary", elem_id="earner-save-detail")
        with gr.Tab("Self-check", id="earner-check"):
            gr.Markdown(PRECHECK_NOTE)
            run_check = gr.Button("Run the self-check", variant="primary", elem_id="earner-run-check")
            report = gr.HTML("", elem_id="earner-selfcheck")
        with gr.Tab("Submit", id="earner-send"):
            gr.Markdown(SUBMIT_NOTE)
            with gr.Row():
                submit = gr.Button("Submit to the program", variant="primary", elem_id="earner-submit")
                download = gr.Button("Download .zip", elem_id="earner-download")
            link = gr.HTML("", elem_id="earner-zip")
        with gr.Tab("Results", id="earner-results"):
            standing = gr.HTML("<p class='ps-empty'>Open a submission to see where it stands.</p>",
                               elem_id="earner-standing")
            with gr.Row():
                next_attempt = gr.Button("Start the next attempt", visible=False, elem_id="earner-next")
                reopen = gr.Button("Reopen it to fix and submit again", visible=False, elem_id="earner-reopen")
    rubric_parts = gr.State([])  # the text parts of the open draft's rubric, slot by slot

    texts, uploads = [s.text for s in slots], [s.upload for s in slots]
    slot_outputs = [c for s in slots for c in (s.group, s.title, s.text, s.upload, s.words)]
    outputs = [message, drafts, picker, credential, header, name, email, organization, *slot_outputs, rubric_parts,
               artifacts, new_title, new_file, dropped, entries, detail, detail_text, artifact, places_note, places,
               pointer, explanation, report, link, standing, next_attempt, reopen, save, submit]
    editor = [detail_text, artifact, places_note, places, pointer, explanation]

    # -------------------------------------------------------- what the page shows

    def listing(user: str, selected: int | None) -> dict:
        mine = earners.drafts(user)
        choices = [(f"#{s.draft_id} · {s.rubric_title or s.credential} · attempt {s.attempt} · {s.words}", s.draft_id)
                   for s in mine]
        return {drafts: drafts_html(mine), picker: gr.Dropdown(choices=choices, value=selected),
                credential: gr.Dropdown(choices=[(r.title, r.id) for r in earners.credentials()])}

    def render(user: str, draft_id: int, text: str = "", kind: str = "ok", current: str | None = None) -> dict:
        stored = earners.open(user, draft_id)
        rubric = earners.rubrics.get(stored.draft.credential)
        state = earners.standing(user, draft_id)
        detail_ids = [d.id for d in rubric.details]
        shown = current if current in detail_ids else (stored.draft.revisit or detail_ids)[0]
        attempt_words = f"Start attempt {state.attempt + 1}"
        return {
            **listing(user, draft_id), **parts_updates(stored, rubric.text_parts),
            **editor_updates(user, stored, rubric, shown), message: notice(text, kind) if text else "",
            header: header_html(stored, rubric, state), name: stored.draft.earner.name or "",
            email: stored.draft.earner.email or "", organization: stored.draft.earner.organization or "",
            artifacts: artifacts_html(stored), new_title: "", new_file: None,
            dropped: gr.Dropdown(choices=artifact_choices(stored), value=None), entries: details_html(stored, rubric),
            detail: gr.Dropdown(choices=[(f"{d.id}: {d.text[:80]}", d.id) for d in rubric.details], value=shown),
            report: "", link: "", standing: standing_html(state),
            next_attempt: gr.Button(attempt_words, visible=state.can_start_next),
            reopen: gr.Button(visible=state.can_reopen), save: gr.Button(interactive=state.can_edit),
            submit: gr.Button(interactive=state.can_edit),
        }

    def parts_updates(stored: StoredDraft, parts: list[RubricPart]) -> dict:
        updates: dict = {rubric_parts: [p.model_dump() for p in parts[: form.MAX_PARTS]]}
        for n, slot in enumerate(slots):
            part = parts[n] if n < len(parts) else None
            saved = stored.draft.parts.get(part.id) if part else None
            typed = saved.text if saved and saved.text is not None else ""
            updates |= {slot.group: gr.Group(visible=part is not None), slot.text: typed, slot.upload: None,
                        slot.title: part_title(part, saved.upload if saved else None),
                        slot.words: form.word_line(typed, part)}
        return updates

    def editor_updates(user: str, stored: StoredDraft, rubric: Rubric, detail_id: str) -> dict:
        entry = form.entry_of(stored.draft, detail_id)
        ids = [a.id for a in stored.draft.artifacts]
        chosen = next((r.artifact for r in entry.evidence if r.artifact in ids), ids[0] if ids else None)
        shown = rubric.details[[d.id for d in rubric.details].index(detail_id)]
        return {detail_text: detail_html(shown, detail_id in stored.draft.revisit),
                artifact: gr.Dropdown(choices=artifact_choices(stored), value=chosen),
                explanation: entry.explanation, **places_updates(user, stored, detail_id, chosen)}

    def places_updates(user: str, stored: StoredDraft, detail_id: str, artifact_id: str | None) -> dict:
        pointer_now = form.pointer_to(form.entry_of(stored.draft, detail_id), artifact_id)
        found = earners.places(user, stored.id, artifact_id) if artifact_id else None
        options = [(f"{p.locator} · {p.label}", p.locator) for p in found.places] if found else []
        return {places_note: places_intro(found), pointer: pointer_now,
                places: gr.CheckboxGroup(choices=options, value=form.picked(pointer_now, [v for _, v in options]))}

    # -------------------------------------------------------- handlers

    def earner_of(request: gr.Request) -> str:
        """The earner's username; a refusal for anyone else."""
        user = current_user(service, request)
        if user.role != "earner":
            raise gr.Error("Only an earner can do this.")
        return user.username

    def chosen(draft_id) -> int:
        if draft_id is None:
            raise gr.Error("Open one of your submissions first (My submissions), or start a new one.")
        return int(draft_id)

    @ui_errors
    def earner_load(request: gr.Request):
        user = current_user(service, request)
        return listing(user.username, None) if user.role == "earner" else gr.skip()

    @ui_errors
    def earner_start(credential_id, request: gr.Request):
        user = earner_of(request)
        if not credential_id:
            raise gr.Error("Choose the credential first.")
        stored = earners.create(user, credential_id)
        return {**render(user, stored.id, f"Started draft #{stored.id}: write the parts, add artifacts, point to the "
                                          "evidence. It is saved as you go."), pages: gr.Tabs(selected="earner-build")}

    @ui_errors
    def earner_open(draft_id, request: gr.Request):
        user = earner_of(request)
        return {**render(user, chosen(draft_id)), pages: gr.Tabs(selected="earner-build")}

    def save_form(user: str, draft_id: int, values: tuple) -> StoredDraft:
        """Save the identity and the parts as the form has them (new uploads stored, Gradio's copies deleted)."""
        stored = earners.open(user, draft_id)
        if stored.status != "draft":
            return stored
        who, typed, files = values[:3], values[3: 3 + form.MAX_PARTS], values[3 + form.MAX_PARTS:]
        rubric = earners.rubrics.get(stored.draft.credential)
        draft, new = form.with_identity(stored.draft, *(v or "" for v in who)), dict[str, Path]()
        for part, text, upload in zip(rubric.text_parts, typed, files, strict=False):
            name = form.unique_name(Path(upload).name, [*draft.uploads(), *new]) if upload else None
            draft = form.with_part(draft, part.id, text, name)
            new |= {name: Path(upload)} if name else {}
        try:
            return earners.save(user, draft_id, draft, new)
        finally:
            for path in new.values():
                forget_upload(path)

    @ui_errors
    def earner_save(request: gr.Request, draft_id, *values):
        user = earner_of(request)
        save_form(user, chosen(draft_id), values)
        return render(user, int(draft_id), "Draft saved.")

    @ui_errors
    def earner_add_artifact(draft_id, title, upload, request: gr.Request):
        user = earner_of(request)
        if not upload:
            raise gr.Error("Choose the artifact's file first.")
        stored = earners.open(user, chosen(draft_id))
        name = form.unique_name(Path(upload).name, stored.draft.uploads())
        draft, artifact_id = form.with_artifact(stored.draft, title or "", name)
        try:
            earners.save(user, stored.id, draft, {name: Path(upload)})
        finally:
            forget_upload(Path(upload))
        return render(user, stored.id, f"Added {artifact_id}: {name}.")

    @ui_errors
    def earner_remove_artifact(draft_id, artifact_id, current, request: gr.Request):
        user = earner_of(request)
        if not artifact_id:
            raise gr.Error("Choose the artifact to remove.")
        stored = earners.open(user, chosen(draft_id))
        earners.save(user, stored.id, form.without_artifact(stored.draft, artifact_id))
        return render(user, stored.id, f"Removed {artifact_id} and the pointers to it.", current=current)

    @ui_errors
    def earner_show_detail(draft_id, detail_id, request: gr.Request):
        user = earner_of(request)
        if draft_id is None or not detail_id:
            return gr.skip()
        stored = earners.open(user, int(draft_id))
        return editor_updates(user, stored, earners.rubrics.get(stored.draft.credential), detail_id)

    @ui_errors
    def earner_show_places(draft_id, detail_id, artifact_id, request: gr.Request):
        user = earner_of(request)
        if draft_id is None or not detail_id:
            return gr.skip()
        return places_updates(user, earners.open(user, int(draft_id)), detail_id, artifact_id)

    def earner_tick(ticked):
        """The pointer the ticked places make (the picker's order: the file's reading order)."""
        return ", ".join(ticked or [])

    @ui_errors
    def earner_save_detail(draft_id, detail_id, artifact_id, written, explained, request: gr.Request):
        user = earner_of(request)
        if not detail_id:
            raise gr.Error("Choose a detail first.")
        stored = earners.open(user, chosen(draft_id))
        draft = form.with_entry(stored.draft, detail_id, artifact_id, written or "", explained or "")
        earners.save(user, stored.id, draft)
        return render(user, stored.id, f"Saved {detail_id}.", current=detail_id)

    @ui_errors
    def earner_self_check(request: gr.Request, draft_id, *values):
        user = earner_of(request)
        save_form(user, chosen(draft_id), values)
        return selfcheck_html(earners.self_check(user, int(draft_id)))

    @ui_errors
    def earner_submit(request: gr.Request, draft_id, *values):
        user = earner_of(request)
        save_form(user, chosen(draft_id), values)
        state = earners.submit(user, int(draft_id))
        text = f"Submitted as {state.submission_code}: it is in your program's queue. Follow it in Results."
        return {**render(user, state.draft_id, text), pages: gr.Tabs(selected="earner-results")}

    @ui_errors
    def earner_download(draft_id, request: gr.Request):
        user = earner_of(request)
        with tempfile.TemporaryDirectory(prefix="earner-zip-") as folder:
            return download_html(earners.download(user, chosen(draft_id), Path(folder)))

    @ui_errors
    def earner_next_attempt(draft_id, request: gr.Request):
        user = earner_of(request)
        stored = earners.next_attempt(user, chosen(draft_id))
        text = f"Attempt {stored.attempt} started from attempt {stored.attempt - 1}: the details judged not yet " \
               "are marked."
        return {**render(user, stored.id, text), pages: gr.Tabs(selected="earner-build")}

    @ui_errors
    def earner_reopen(draft_id, request: gr.Request):
        user = earner_of(request)
        stored = earners.reopen(user, chosen(draft_id))
        return {**render(user, stored.id, "Reopened: fix what the reasons say, then submit it again."),
                pages: gr.Tabs(selected="earner-build")}

    # -------------------------------------------------------- wiring

    form_inputs = [picker, name, email, organization, *texts, *uploads]
    paged = [*outputs, pages]
    one = [message]  # one progress indicator, by the message
    start.click(earner_start, [credential], paged, show_progress_on=one)
    open_button.click(earner_open, [picker], paged, show_progress_on=one)
    picker.input(earner_open, [picker], paged, show_progress_on=one)
    save.click(earner_save, form_inputs, outputs, show_progress_on=one)
    add.click(earner_add_artifact, [picker, new_title, new_file], outputs, show_progress_on=one)
    remove.click(earner_remove_artifact, [picker, dropped, detail], outputs, show_progress_on=one)
    detail.input(earner_show_detail, [picker, detail], editor)
    artifact.input(earner_show_places, [picker, detail, artifact], [places_note, places, pointer])
    places.input(earner_tick, [places], [pointer], show_progress="hidden")
    entry_inputs = [picker, detail, artifact, pointer, explanation]
    save_entry.click(earner_save_detail, entry_inputs, outputs, show_progress_on=one)
    run_check.click(earner_self_check, form_inputs, [report], concurrency_id="earner-check")
    submit.click(earner_submit, form_inputs, paged, concurrency_id="earner-check", show_progress_on=one)
    download.click(earner_download, [picker], [link])
    next_attempt.click(earner_next_attempt, [picker], paged, show_progress_on=one)
    reopen.click(earner_reopen, [picker], paged, show_progress_on=one)
    for n, slot in enumerate(slots):
        slot.text.change(word_counter(n), [slot.text, rubric_parts], [slot.words], show_progress="hidden",
                        trigger_mode="always_last")
    return EarnerTab(load=earner_load, outputs=[drafts, picker, credential])


def word_counter(n: int):
    """The live word count of the n-th part's box against its minimum (no service call: the text and the part)."""

    def earner_count_words(text, parts):
        part = RubricPart.model_validate(parts[n]) if parts and n < len(parts) else None
        return form.word_line(text, part)

    return earner_count_words


def artifact_choices(stored: StoredDraft) -> list[tuple[str, str]]:
    return [(f"{a.id}: {a.title or a.upload}", a.id) for a in stored.draft.artifacts]


def part_title(part: RubricPart | None, uploaded: str | None = None) -> str:
    if part is None:
        return ""
    minimum = f" · at least {part.minimum_words} words" if part.minimum_words else ""
    questions = "".join(f"\n- {q}" for q in part.prompts)
    upload = (f"\n\nUploaded as **{uploaded}**: the self-check counts its words. Writing in the box replaces it."
              if uploaded else "")
    return f"#### {part.title}{minimum}{questions}{upload}"
