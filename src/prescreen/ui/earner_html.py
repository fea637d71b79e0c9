"""The earner's screens as HTML: their submissions, the draft being built, the self-check (a pre-check, with no
score), where a submission stands and its feedback, and the .zip to download.

Everything the earner wrote or uploaded is escaped (common.esc) before it goes into HTML.
"""

from __future__ import annotations

import base64
from pathlib import Path

from prescreen.earner.places import FilePlaces
from prescreen.earner.selfcheck import DetailCheck, Note, SelfCheck, shorten
from prescreen.earner.service import Standing
from prescreen.earner.store import StoredDraft
from prescreen.models import Detail, Rubric
from prescreen.ui.common import badge, bullet_list, esc, notice, table

MAX_DOWNLOAD_MB = 60  # a bigger bundle is built with `prescreen init` / `check` in a folder instead
STYLE = """<style>
#earner-places { max-height: 22rem; overflow-y: auto; }
#earner-places .wrap { flex-direction: column; align-items: flex-start; }
.ps-must { color: #b91c1c; font-weight: 600; }
.ps-advice { color: #92400e; font-weight: 600; }
.ps-precheck { border: 2px solid #2563eb; border-radius: .4rem; padding: .5rem .8rem; margin: .4rem 0; }
.ps-revisit { color: #b91c1c; font-weight: 600; }
</style>"""
NO_DRAFT = "<p class='ps-empty'>Start a new submission, or open one of yours in My submissions.</p>"


def standing_badge(standing: Standing) -> str:
    css = {"draft": "none", "submitted": "in_review", "returned": "returned"}.get(standing.status, standing.status)
    return f'<span class="ps-badge ps-{esc(css)}">{esc(standing.words)}</span>'


def drafts_html(standings: list[Standing]) -> str:
    if not standings:
        return "<p class='ps-empty'>You have no submissions yet: choose a credential and start one.</p>"
    rows = [[f"#{s.draft_id}", esc(s.rubric_title or s.credential), str(s.attempt), esc(s.submission_code or "—"),
             standing_badge(s), f"{s.updated_at:%Y-%m-%d %H:%M} UTC"] for s in standings]
    return table(["Draft", "Credential", "Attempt", "Submission", "Status", "Last change"], rows, "ps-table ps-drafts")


def header_html(stored: StoredDraft, rubric: Rubric, standing: Standing) -> str:
    draft = stored.draft
    parts = [f"<h2 class='ps-title'>{esc(rubric.title)} · attempt {draft.attempt}</h2>",
             f"<p class='ps-meta'>Draft #{stored.id} · submission <code>{esc(draft.submission_id)}</code> · "
             f"{standing_badge(standing)}</p>"]
    if draft.revisit:
        parts.append(notice(f"Judged not yet on attempt {draft.attempt - 1}: {', '.join(draft.revisit)}. Work on "
                            "these first (marked in the list of details).", "warn"))
    if not standing.can_edit:
        parts.append(notice("Submitted: this draft is read-only. See Results for where it stands.", "ok"))
    return "\n".join(parts)


def artifacts_html(stored: StoredDraft) -> str:
    if not stored.draft.artifacts:
        return "<p class='ps-empty'>No artifacts yet: add the files that show your work.</p>"
    sizes = {u.name: u.size for u in stored.uploads}
    rows = [[f"<code>{esc(a.id)}</code>", esc(a.title), esc(a.upload), _size(sizes.get(a.upload, 0))]
            for a in stored.draft.artifacts]
    return table(["ID", "Title", "File", "Size"], rows, "ps-table ps-artifacts")


def details_html(stored: StoredDraft, rubric: Rubric) -> str:
    """Every detail with what its entry points to and whether it is explained; details to revisit marked."""
    entries = {e.detail: e for e in stored.draft.self_analysis}
    rows = []
    for detail in rubric.details:
        entry = entries.get(detail.id)
        pointers = ", ".join(f"{r.artifact} {r.locator or ''}".strip() for r in entry.evidence) if entry else ""
        mark = " <span class='ps-revisit'>revisit</span>" if detail.id in stored.draft.revisit else ""
        explained = "yes" if entry and entry.explanation.strip() else "<span class='ps-dim'>not yet</span>"
        rows.append([f"<strong>{esc(detail.id)}</strong>{mark}", esc(shorten(detail.text)),
                     esc(pointers) or "<span class='ps-dim'>nothing yet</span>", explained])
    return table(["Detail", "What it asks", "Points to", "Explained"], rows, "ps-table ps-entries")


def detail_html(detail: Detail, revisit: bool) -> str:
    look_fors = f"<p class='ps-dim'>Assessors look for:</p>{bullet_list(detail.look_fors)}" if detail.look_fors else ""
    mark = notice("Judged not yet last time: work on this one.", "warn") if revisit else ""
    return (f"<div class='ps-detail'><h3>{esc(detail.id)}</h3><p class='ps-detail-text'>{esc(detail.text)}</p>"
            f"{mark}{look_fors}</div>")


def places_intro(places: FilePlaces | None) -> str:
    if places is None:
        return "<p class='ps-dim'>Add an artifact, then choose it to see its places.</p>"
    kinds = {"pdf": "pages", "transcript": "cues with their times"}.get(places.kind, "headings and numbered paragraphs")
    return (f"<p class='ps-dim'>{esc(places.file)} as prescreen reads it: its {kinds}. Tick the places that show "
            "this detail; the pointer is written for you.</p>")


# ---------------------------------------------------------------- the self-check


def selfcheck_html(check: SelfCheck) -> str:
    fix, advice = len(check.must_fix), len(check.advice)
    summary = (f"{fix} to fix before you submit, {advice} suggestion{'s' * (advice != 1)}."
               if fix else f"Nothing must be fixed before you submit. {advice} suggestion{'s' * (advice != 1)}.")
    label = check.label.removeprefix("Pre-check, not an assessment. ")
    parts = [f"<div class='ps-precheck'><strong>PRE-CHECK, NOT AN ASSESSMENT.</strong> {esc(label)}</div>",
             notice(summary, "warn" if fix else "ok")]
    if check.general:
        parts.append(f"<h4>Parts and files</h4>{_notes(check.general)}")
    parts += [_detail_check(d) for d in check.details]
    return "<div class='ps-selfcheck'>" + "\n".join(parts) + "</div>"


def _detail_check(detail: DetailCheck) -> str:
    found = "".join(f"<li>found in {esc(f.title if f.in_part else f'{f.artifact_id} ({f.title})')}, "
                    f"{esc(f.where)}: “{esc(shorten(f.quote, 160))}”</li>" for f in detail.found)
    found_html = f"<ul class='ps-found'>{found}</ul>" if found else ""
    return (f"<div class='ps-detail-check'><h4>{esc(detail.detail_id)} <span class='ps-dim'>{esc(shorten(detail.text))}"
            f"</span></h4>{found_html}{_notes(detail.notes)}</div>")


def _notes(notes: list[Note]) -> str:
    items = [f"<li><span class='{'ps-must' if n.must_fix else 'ps-advice'}'>{'Must fix' if n.must_fix else 'Advice'}:"
             f"</span> {esc(n.text)}</li>" for n in notes]
    return f"<ul class='ps-notes'>{''.join(items)}</ul>" if items else ""


# ---------------------------------------------------------------- results and the download


def standing_html(standing: Standing) -> str:
    parts = [f"<p class='ps-meta'>Draft #{standing.draft_id} · attempt {standing.attempt} · "
             f"{esc(standing.submission_code or 'not submitted')} · {standing_badge(standing)}</p>"]
    if standing.reasons:
        why = "Why it was returned" if standing.status == "returned" else "The program's pre-check found it incomplete"
        parts.append(f"<div class='ps-warning'><strong>{why}</strong>{bullet_list(standing.reasons)}</div>")
    if standing.feedback:
        rows = [[f"<strong>{esc(f.detail_id)}</strong>", esc(shorten(f.text)), badge(f.score),
                 f"<div class='ps-pre'>{esc(f.feedback)}</div>"] for f in standing.feedback]
        when = f"{standing.decided_at:%Y-%m-%d}" if standing.decided_at else ""
        parts.append(f"<h4>Feedback per detail (final result, {esc(when)})</h4>"
                     + table(["Detail", "What it asks", "Score", "Feedback"], rows, "ps-table ps-feedback"))
    elif standing.status in ("submitted", "in_review"):
        parts.append("<p class='ps-dim'>Feedback appears here once the result is final.</p>")
    return "\n".join(parts)


def download_html(archive: Path) -> str:
    """A link that downloads the .zip from the page itself (the app serves no files)."""
    data = archive.read_bytes()
    if len(data) > MAX_DOWNLOAD_MB * 1024 * 1024:
        return notice(f"The bundle is {_size(len(data))}: too large to download here.", "warn")
    href = "data:application/zip;base64," + base64.b64encode(data).decode("ascii")
    return (f"<p><a id='earner-zip-link' download='{esc(archive.name)}' href='{href}'>Download {esc(archive.name)}"
            f"</a> <span class='ps-dim'>({_size(len(data))})</span></p>")


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"
