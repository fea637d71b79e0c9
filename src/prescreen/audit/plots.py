"""The audit's plots, drawn with matplotlib's object API (no pyplot state: safe in the app's threads).

Each function returns a Figure; `data_uri` turns one into an embedded PNG for the self-contained HTML report,
and the audit tab hands the Figure to gr.Plot.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib.figure import Figure

from prescreen.audit.report import Audit
from prescreen.audit.stats import DRAFT_STATUSES, SCORES

DRAFTED, FINAL, ASSESSORS = "#64748b", "#2563eb", "#d97706"
Series = tuple[str, list[float | None], str]  # legend label, one value per bar (None: no bar), colour


def _figure(rows: int = 1, height: float = 3.2) -> Figure:
    return Figure(figsize=(7.5, max(height, 1.0 + 0.35 * rows)), layout="constrained")


def _empty(fig: Figure, title: str) -> Figure:
    ax = fig.subplots()
    ax.set_title(title)
    ax.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=ax.transAxes, color="#64748b")
    ax.set_axis_off()
    return fig


def _bars(ax, labels: list[str], series: list[Series], xlabel: str) -> None:
    """Horizontal grouped bars, one group per label; a missing value is drawn as no bar."""
    y = np.arange(len(labels))
    height = 0.8 / len(series)
    for i, (name, values, color) in enumerate(series):
        ax.barh(y + i * height, [v if v is not None else 0 for v in values], height, label=name, color=color)
    ax.set_yticks(y + height * (len(series) - 1) / 2, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel(xlabel)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=len(series), fontsize="small", frameon=False)


def _bar_figure(title: str, labels: list[str], series: list[Series], xlabel: str) -> Figure:
    fig = _figure(len(labels))
    if not labels:
        return _empty(fig, title)
    ax = fig.subplots()
    _bars(ax, labels, series, xlabel)
    ax.set_title(title)
    return fig


def coverage_plot(audit: Audit) -> Figure:
    rows = audit.coverage
    return _bar_figure("Coverage: share of submissions evidencing each detail", [r.detail_id for r in rows],
                       [("drafted evidenced", [r.evidenced_rate for r in rows], DRAFTED),
                        ("finally demonstrated", [r.demonstrated_rate for r in rows], FINAL)], "share of submissions")


def agreement_plot(audit: Audit) -> Figure:
    return _bar_figure("Agreement per detail", [r.detail_id for r in audit.ai_vs_human],
                       [("AI draft vs final score", [r.stats.agreement for r in audit.ai_vs_human], DRAFTED),
                        ("assessor vs assessor", [r.stats.agreement for r in audit.assessor_details], ASSESSORS)],
                       "agreement")


def confusion_plot(audit: Audit) -> Figure:
    """All details together: drafted status (rows) against final score (columns), counts in the cells."""
    title = "Drafted status against final score (all details)"
    matrix = np.zeros((len(DRAFT_STATUSES), len(SCORES)), dtype=int)
    for row in audit.confusion:
        matrix[DRAFT_STATUSES.index(row.drafted)] += [row.demonstrated, row.not_yet]
    fig = Figure(figsize=(5, 3.4), layout="constrained")
    if not matrix.any():
        return _empty(fig, title)
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(SCORES)), [s.replace("_", " ") for s in SCORES])
    ax.set_yticks(range(len(DRAFT_STATUSES)), DRAFT_STATUSES)
    ax.set_xlabel("final score")
    ax.set_ylabel("drafted status")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", color="white" if count > matrix.max() / 2 else "black")
    ax.set_title(title)
    return fig


def flow_plot(audit: Audit) -> Figure:
    """Hours from ingest to final (histogram) and open submissions by state."""
    fig = _figure(height=3.2)
    left, right = fig.subplots(1, 2)
    hours = [t.hours for t in audit.final_times]
    if hours:
        left.hist(hours, bins=min(20, max(1, len(hours))), color=FINAL)
    else:
        left.text(0.5, 0.5, "no final results yet", ha="center", va="center", transform=left.transAxes)
    left.set_title("Ingest to final result")
    left.set_xlabel("hours")
    right.bar([q.state.replace("_", "\n") for q in audit.queue], [q.submissions for q in audit.queue], color=DRAFTED)
    right.set_title("Open submissions by state")
    right.tick_params(axis="x", labelsize="small")
    return fig


def anchoring_plot(audit: Audit) -> Figure:
    """Per assessor (and all): agreement with the final result with the AI draft shown and hidden, n in the label."""
    rows = {(r.assessor, r.draft): r.stats for r in audit.anchoring}
    names = list(dict.fromkeys(r.assessor for r in audit.anchoring))
    labels = [f"{name} (n = {rows[(name, 'shown')].n} / {rows[(name, 'hidden')].n})" for name in names]
    return _bar_figure("Agreement with the final result, with and without the AI draft", labels,
                       [("draft shown", [rows[(n, "shown")].agreement for n in names], DRAFTED),
                        ("draft hidden", [rows[(n, "hidden")].agreement for n in names], FINAL)],
                       "agreement (n = scores shown / hidden)")


def all_plots(audit: Audit) -> dict[str, Figure]:
    return {"coverage": coverage_plot(audit), "agreement": agreement_plot(audit),
            "confusion": confusion_plot(audit), "flow": flow_plot(audit), "anchoring": anchoring_plot(audit)}


def data_uri(fig: Figure) -> str:
    """The figure as an embedded PNG (data: URI), for HTML that needs no network."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
