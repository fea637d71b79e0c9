"""The review tab's HTML: the header, the detail on screen with its cited passages (the quote marked inside its
page text), the overview of the assessor's work, and the final result once recorded.

Every text that comes from a submission is escaped (common.esc) before it goes into HTML.
"""

from __future__ import annotations

from prescreen.review.views import SourceView
from prescreen.review.workflow import AssessorView, CitationView, DetailView, FinalResultView, PlaceView
from prescreen.ui.common import badge, bullet_list, esc, highlight, notice, pretty, table
from prescreen.ui.review_form import done, implied_recommendation

RECOMMENDATION_WORDS = {"earned": "earned", "not_yet": "not yet earned"}
SOURCE_WORDS = {"agreement": "the two assessors agreed", "adjudication": "the lead settled the disputed details"}

NO_DRAFT = ("You review this submission without the pre-screen's draft: there is nothing to confirm or override. "
            "Read the submission (below), then score each detail and give the earner feedback.")


def no_draft_html(view: AssessorView) -> str:
    """Says plainly, to an assessor shown no draft, that this review is done without it; empty otherwise."""
    return notice(NO_DRAFT, "info") if view.draft_hidden else ""


def progress_line(view: AssessorView) -> str:
    finished = sum(done(d) for d in view.details)
    work = "scored" if view.draft_hidden else "decided and scored"
    line = f"**{finished} of {len(view.details)} details {work}**"
    if view.submitted:
        recommended = RECOMMENDATION_WORDS.get(view.recommendation or "", "—")
        return line + f" · review submitted (recommendation: {recommended})"
    implied = implied_recommendation(view)
    if implied:
        return line + f" · your scores recommend **{RECOMMENDATION_WORDS[implied]}**: submit below"
    return line


def header_html(view: AssessorView) -> str:
    parts = [f"<h2 class='ps-title'>{esc(view.label)}</h2>",
             f"<p class='ps-meta'>{esc(view.rubric_title)} · <code>{esc(view.credential)}</code> · "
             f"{badge(view.state)}</p>"]
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
    if view.draft_hidden:  # no draft: no drafted status, no decision
        rows = [[_name(d.detail_id, current), badge(d.score.score) if d.score else "—"] for d in view.details]
        return table(["Detail", "Your score"], rows, "ps-table ps-overview")
    rows = []
    for d in view.details:
        decision = "—"
        if d.decision:
            decision = ("confirmed" if d.decision.action == "confirm"
                        else f"override → {badge(d.decision.new_status)}")
        score = badge(d.score.score) if d.score else "—"
        rows.append([_name(d.detail_id, current), badge(d.drafted_status), decision, score])
    return table(["Detail", "Drafted", "Your decision", "Your score"], rows, "ps-table ps-overview")


def _name(detail_id: str, current: str | None) -> str:
    return f"<strong>{esc(detail_id)}</strong>" if detail_id == current else esc(detail_id)


def cited_caption(artifact_id: str, title: str, where: str) -> str:
    named = f" {esc(title)}" if title and title != artifact_id else ""
    return f"<code>{esc(artifact_id)}</code>{named} · <span class='ps-where'>{esc(where)}</span>"


def citation_html(citation: CitationView, index: int = 0) -> str:
    """A cited passage in its context, with a button that opens its whole page below (the place picker's choice
    `index`, pressed by the page's script)."""
    caption = cited_caption(citation.artifact_id, citation.title, citation.where)
    button = (f" <button type='button' class='ps-open-place' data-place='{index}' "
              f"title='Open the whole cited page below, the quote marked'>Full page</button>")
    passage = highlight(citation.context_before, citation.quote, citation.context_after)
    return (f"<figure class='ps-cite'><figcaption>{caption}{button}</figcaption>"
            f"<blockquote>{passage}</blockquote></figure>")


def place_choices(detail: DetailView) -> list[tuple[str, int]]:
    """One choice per cited passage of the detail: its number, file and place."""
    return [(f"{i + 1} · {c.artifact_id} {c.where}", i) for i, c in enumerate(detail.citations)]


def place_html(place: PlaceView) -> str:
    """The whole cited page, paragraph or transcript stretch (masked), the quote marked; or why it is missing."""
    caption = f"{cited_caption(place.artifact_id, place.title, place.where)} · the whole {esc(place.kind)}"
    if not place.text:
        return f"<p class='ps-dim'>{caption}: its text could not be read.</p>"
    missing = "" if place.quote_end > place.quote_start else (
        "<p class='ps-dim'>The quote is not found word for word in this text.</p>")
    return (f"<figure class='ps-cite ps-place' id='review-place-text'><figcaption>{caption}</figcaption>{missing}"
            f"<blockquote class='ps-pre' style='max-height: 32rem; overflow: auto'>{highlight(*place.parts)}"
            "</blockquote></figure>")


def source_choices(view: AssessorView) -> list[tuple[str, str]]:
    """One choice per readable file: its id, title and kind."""
    return [(f"{a.artifact_id} · {a.title} ({a.kind}, {a.role})", a.artifact_id) for a in view.artifacts]


def source_html(source: SourceView) -> str:
    """A file of the submission (masked): the places its locator names, or all of them, each with its place."""
    shown = [source.places[i] for i in source.focus] or source.places
    scope = f"{len(shown)} of {len(source.places)} places" if source.focus else "the whole file"
    caption = f"{cited_caption(source.artifact_id, source.title, source.kind)} · {scope}"
    notes = bullet_list(source.notes, "ps-dim")
    if not source.places:
        return f"<p class='ps-dim'>{caption}: no text could be read from it.</p>{notes}"
    parts = "".join(
        f"<div class='ps-source-place'><p class='ps-where'>{esc(p.where)}"
        f"{f' · {esc(p.section)}' if p.section else ''}</p><div class='ps-pre'>{esc(p.text)}</div></div>"
        for p in shown)
    return (f"<figure class='ps-cite ps-place' id='review-read-file'><figcaption>{caption}</figcaption>{notes}"
            f"<div style='max-height: 40rem; overflow: auto'>{parts}</div></figure>")


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


def drafted_html(detail: DetailView) -> str:
    if detail.drafted_status is None:  # the anchoring check hid the AI draft from this assessor
        return "<p class='ps-dim'>No AI draft is shown to you for this submission: score it from the evidence.</p>"
    confidence = f"{detail.confidence:.2f}" if detail.confidence is not None else "—"
    return (f"<p>Drafted: {badge(detail.drafted_status)} <span class='ps-dim'>confidence {confidence}</span>"
            f"{provenance_html(detail)}</p>")


def detail_html(view: AssessorView, detail: DetailView) -> str:
    citations = "".join(citation_html(c, i) for i, c in enumerate(detail.citations)) or (
        "<p class='ps-dim'>No passage cited: the pre-screen found no evidence for this detail.</p>")
    issues = bullet_list(detail.issues, "ps-issues") or "<p class='ps-dim'>None.</p>"
    return (
        f"<section class='ps-detail' aria-label='Detail {esc(detail.detail_id)}'>"
        f"<h3>{esc(detail.detail_id)} <span class='ps-dim'>· outcome {esc(detail.outcome_id)}</span></h3>"
        f"<p class='ps-detail-text'>{esc(detail.text)}</p>"
        f"{drafted_html(detail)}"
        f"<p class='ps-rationale'>{esc(detail.rationale)}</p>"
        f"<h4>Cited passages ({len(detail.citations)})</h4>{citations}"
        f"<h4>The earner's self-analysis</h4>{self_analysis_html(detail)}"
        f"<h4>Issues found by the pre-screen</h4>{issues}"
        f"{previous_html(view, detail)}</section>"
    )


def final_html(final: FinalResultView | None, heading: str = "Final result") -> str:
    """The recorded result with each detail's score and feedback for the earner; empty before it is final."""
    if final is None:
        return ""
    rows = [[esc(detail), badge(v.score), f"<div class='ps-pre'>{esc(v.feedback)}</div>"]
            for detail, v in final.per_detail.items()]
    how = SOURCE_WORDS.get(final.source, final.source)
    return (f"<div class='ps-final-result'><h3>{esc(heading)}: {badge(final.result)}</h3>"
            f"<p class='ps-meta'>Recorded by {esc(final.decided_by)} ({esc(how)}), "
            f"{final.decided_at:%Y-%m-%d %H:%M} UTC</p>"
            f"{table(['Detail', 'Score', 'Feedback for the earner'], rows)}</div>")
