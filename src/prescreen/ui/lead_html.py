"""The lead tab's HTML: the submission's summary (unmasked: the earner's identity included), both assessors'
scores side by side, and each disputed detail with its evidence and both assessors' work.

Every text that comes from a submission is escaped (common.esc) before it goes into HTML.
"""

from __future__ import annotations

from prescreen.review.workflow import AdjudicationItem, AssessorWork, LeadView
from prescreen.ui.common import badge, bullet_list, esc, notice, table
from prescreen.ui.review_html import RECOMMENDATION_WORDS, citation_html


def summary_html(view: LeadView) -> str:
    earner = view.earner
    who = f"{esc(earner.name)} &lt;{esc(earner.email)}&gt;" if earner else "unknown"
    parts = [f"<h2 class='ps-title'>{esc(view.label)}</h2>",
             f"<p class='ps-meta'>{esc(view.rubric_title)} · <code>{esc(view.credential)}</code> · "
             f"{badge(view.state)} · earner: {who}</p>"]
    if view.incomplete_reasons and view.state == "incomplete":
        parts.append("<div class='ps-warning'><strong>Incomplete: the pre-check failed.</strong> Return it to the "
                     f"earner, or assign it anyway.{bullet_list(view.incomplete_reasons)}</div>")
    elif view.incomplete_reasons:
        parts.append(f"<details class='ps-flags'><summary>Pre-check reasons ({len(view.incomplete_reasons)})"
                     f"</summary>{bullet_list(view.incomplete_reasons)}</details>")
    if view.returned_reason:
        parts.append(notice(f"Returned to the earner: {view.returned_reason}", "warn"))
    if view.assessors:
        rows = [[esc(a.username), "submitted" if a.submitted else "in progress", f"{a.decided} decided",
                 f"{a.scored} scored", RECOMMENDATION_WORDS.get(a.recommendation or "", "—")] for a in view.assessors]
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
            scored = view.assessor_scores[name].get(d.detail_id)
            cells.append(f"{badge(scored.score)}<div class='ps-small'>{esc(scored.feedback)}</div>" if scored else "—")
        adjudicated = view.adjudications.get(d.detail_id)
        cells.append(badge(adjudicated.score) if adjudicated else "—")
        cells.append(badge(final[d.detail_id].score) if d.detail_id in final else "—")
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
