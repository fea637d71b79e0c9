"""The queue tab: an assessor sees the submissions assigned to them, a lead sees every submission with its
assessors. Open work comes first (for an assessor: not submitted yet; for a lead: not final or returned), each
part in the order the service gives (incomplete first, then by readiness, oldest first).

An incomplete submission (the pre-check failed) is flagged "return to earner" with its reasons. A row is opened
by clicking it, or with the Submission list and the Open button (keyboard).
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from prescreen.review.workflow import QueueItem, ReviewService
from prescreen.ui.common import bullet_list, current_user, esc, pretty, ui_errors

ASSESSOR_HEADERS = ["#", "Submission", "Credential", "Pre-check", "Readiness", "Status", "Age", "My progress"]
LEAD_HEADERS = ["#", "Submission", "Credential", "Pre-check", "Readiness", "Status", "Assigned to", "Progress", "Age"]
ASSESSOR_WIDTHS: list[str | int] = ["4%", "15%", "18%", "24%", "9%", "10%", "8%", "12%"]
LEAD_WIDTHS: list[str | int] = ["4%", "13%", "15%", "20%", "8%", "9%", "10%", "13%", "8%"]


FINISHED = ("final", "returned")


def finished(item: QueueItem, lead: bool) -> bool:
    """Nothing is left to do on it: final or returned; for an assessor, also once their review is submitted."""
    return item.state in FINISHED or (not lead and item.my_progress == "submitted")


def open_first(items: list[QueueItem], lead: bool) -> list[QueueItem]:
    """Open work first; within each part, the service's order (the sort is stable)."""
    return sorted(items, key=lambda item: finished(item, lead))


def queue_of(service: ReviewService, username: str, lead: bool) -> list[QueueItem]:
    return open_first(service.queue(username), lead)


def precheck_cell(item: QueueItem) -> str:
    if not item.incomplete:
        return "complete"
    n = len(item.incomplete_reasons)
    return f"⚠ incomplete: return to earner ({n} reason{'s' if n != 1 else ''} below)"


def reasons_html(items: list[QueueItem], lead: bool = False) -> str:
    """Why each incomplete submission failed the pre-check (escaped: the reasons quote file names)."""
    blocks = [f"<li><strong>{esc(i.label)}</strong>{bullet_list(i.incomplete_reasons)}</li>"
              for i in items if i.incomplete]
    if not blocks:
        return ""
    advice = "return it to the earner, or assign it anyway" if lead else "it may go back to the earner"
    return (f"<details class='ps-flags' open><summary>Why incomplete ({advice})"
            f"</summary><ul class='ps-reasons'>{''.join(blocks)}</ul></details>")


def age(days: float) -> str:
    return "today" if days < 1 else f"{days:.0f} day{'s' if round(days) != 1 else ''}"


def rows(items: list[QueueItem], lead: bool) -> list[list]:
    if lead:
        return [[i.submission, i.label, i.credential, precheck_cell(i), pretty(i.readiness), pretty(i.state),
                 ", ".join(i.assigned_to) or "—", i.my_progress, age(i.age_days)] for i in items]
    return [[i.submission, i.label, i.credential, precheck_cell(i), pretty(i.readiness), pretty(i.state),
             age(i.age_days), i.my_progress] for i in items]


def choices(items: list[QueueItem]) -> list[tuple[str, int]]:
    return [(f"{i.label} · {pretty(i.state)}", i.submission) for i in items]


def intro(items: list[QueueItem], lead: bool) -> str:
    incomplete = sum(i.incomplete for i in items)
    if lead:
        flagged = (f" **{incomplete} incomplete**: return them to the earner, or assign them anyway."
                   if incomplete else "")
        return f"All submissions ({len(items)}).{flagged} Open one to assign, return or adjudicate it."
    if not items:
        return "Nothing is assigned to you yet: your lead assigns submissions."
    flagged = f" **{incomplete} incomplete** (flagged by the pre-check: return to earner)." if incomplete else ""
    return f"Your queue ({len(items)}), in the order to take them.{flagged} Open one to review it."


def picked_row(evt: gr.SelectData):
    """The submission (first column) of the row a user clicked."""
    row = evt.row_value or []
    return int(row[0]) if row else gr.skip()


@dataclass
class QueueTab:
    table: gr.Dataframe
    picker: gr.Dropdown
    open_button: gr.Button
    load: object  # (request) -> updates of `outputs`
    outputs: list


def build(service: ReviewService) -> QueueTab:
    summary = gr.Markdown("", elem_id="queue-summary")
    table = gr.Dataframe(headers=ASSESSOR_HEADERS, value=[], interactive=False, wrap=True, elem_id="queue-table",
                         label="Queue (click a row to open it)", max_height=520,
                         column_widths=ASSESSOR_WIDTHS, elem_classes=["ps-frame"])
    reasons = gr.HTML("", elem_id="queue-reasons")
    with gr.Row(elem_classes=["ps-bar"]):
        picker = gr.Dropdown(label="Submission", choices=[], value=None, scale=4, elem_id="queue-submission")
        open_button = gr.Button("Open submission", variant="primary", size="md", scale=0, min_width=180,
                                elem_id="queue-open")
        refresh = gr.Button("Refresh queue", size="md", scale=0, min_width=160, elem_id="queue-refresh")
    outputs = [summary, table, reasons, picker]

    @ui_errors
    def load_queue(request: gr.Request):
        user = current_user(service, request)
        lead = user.role == "lead"
        items = queue_of(service, user.username, lead)
        headers = LEAD_HEADERS if lead else ASSESSOR_HEADERS
        frame = gr.Dataframe(value={"headers": headers, "data": rows(items, lead)}, headers=headers,
                             column_widths=LEAD_WIDTHS if lead else ASSESSOR_WIDTHS)
        return intro(items, lead), frame, reasons_html(items, lead), gr.Dropdown(choices=choices(items))

    refresh.click(load_queue, None, outputs)
    return QueueTab(table=table, picker=picker, open_button=open_button, load=load_queue, outputs=outputs)
