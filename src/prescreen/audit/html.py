"""The audit as one self-contained HTML page: styles inline, plots embedded as PNG, no link to the network.

A lead can mail it to the board or open it offline. Every text from the database is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from prescreen.audit.plots import all_plots, data_uri
from prescreen.audit.report import Audit, Table
from prescreen.audit.stats import Agreement

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #111827; padding: 0 1rem; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 2px solid #e5e7eb; }
.meta, .note { color: #4b5563; } .note { font-size: .9em; }
table { border-collapse: collapse; margin: .6rem 0 1.2rem; font-size: .9em; }
th, td { border-bottom: 1px solid #e5e7eb; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { color: #4b5563; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; margin: .5rem 0; }
"""
# inline, so the summary looks the same in the report and in the app's tab
CARDS = "display: flex; flex-wrap: wrap; gap: .8rem; margin: .4rem 0;"
CARD = "border: 1px solid #d1d5db; border-radius: .5rem; padding: .4rem .8rem; min-width: 8rem;"
FIGURE = "display: block; font-size: 1.4em;"

MAX_ROWS = 200
#: section title -> (plot names, table names)
SECTIONS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("Coverage", ("coverage",), ("coverage",)),
    ("AI vs human", ("confusion", "agreement"), ("ai_vs_human", "confusion", "override_reasons")),
    ("Assessors", (), ("assessor_details", "assessor_pairs", "assessors", "adjudication")),
    ("Flow", ("flow",), ("queue", "reasons", "resubmissions", "retried_details", "final_times")),
    ("Calibration", (), ("calibration",)),
    ("Anchoring check", ("anchoring",), ("anchoring",)),
]


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def cell(value: object) -> str:
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, float):
        return f"<td class='num'>{value:.3f}</td>"
    if isinstance(value, int):
        return f"<td class='num'>{value}</td>"
    return f"<td>{esc(value)}</td>"


def table_html(table: Table, max_rows: int = MAX_ROWS) -> str:
    """The table, its first `max_rows` rows (the CSV export has them all)."""
    head = "".join(f"<th scope='col'>{esc(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in table.rows[:max_rows])
    note = f"<p class='note'>{esc(table.note)}</p>" if table.note else ""
    if not table.rows:
        note += "<p class='note'>No rows yet.</p>"
    elif len(table.rows) > max_rows:
        note += f"<p class='note'>The first {max_rows} of {len(table.rows)} rows; the CSV export has them all.</p>"
    return f"<h3>{esc(table.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def describe(stats: Agreement) -> str:
    """`83% agreement, kappa 0.62 (n = 40)`, or the reason kappa is missing."""
    if stats.agreement is None:
        return stats.note
    kappa = f"kappa {stats.kappa:.2f}" if stats.kappa is not None else "no kappa"
    return f"{stats.agreement:.0%} agreement, {kappa} (n = {stats.n})" + (f"; {stats.note}" if stats.note else "")


def summary_html(audit: Audit) -> str:
    flow = audit.flow
    median = f"{flow.median_hours_to_final:.1f} h" if flow.median_hours_to_final is not None else "—"
    cards = [("submissions", flow.submissions), ("final", flow.final), ("earned", flow.earned),
             ("not yet earned", flow.not_yet_earned), ("open", flow.open), ("returned", flow.returned),
             ("median to final", median)]
    boxes = "".join(f"<div style='{CARD}'><b style='{FIGURE}'>{esc(v)}</b>{esc(k)}</div>" for k, v in cards)
    return (f"<div style='{CARDS}'>{boxes}</div><p>AI draft against final score: {esc(describe(audit.ai_overall))}.<br>"
            f"Assessor against assessor: {esc(describe(audit.assessor_overall))}.</p>")


def render_html(audit: Audit, extra_sections: Sequence[tuple[str, list[Table]]] = ()) -> str:
    """The whole report; `extra_sections` (title, tables) are appended (the rubric lint)."""
    plots = {name: data_uri(fig) for name, fig in all_plots(audit).items()}
    tables = {t.name: t for t in audit.tables()}
    parts = [f"<h1>prescreen audit</h1><p class='meta'>{esc(audit.filter.describe())} · generated "
             f"{audit.generated_at:%Y-%m-%d %H:%M} UTC · credentials: {esc(', '.join(audit.credentials) or 'none')}"
             f" · rubric versions: {esc(', '.join(audit.rubric_versions) or 'none')}</p>", summary_html(audit)]
    for title, plot_names, table_names in SECTIONS:
        parts.append(f"<h2>{esc(title)}</h2>")
        parts += [f"<img alt='{esc(name)} plot' src='{plots[name]}'>" for name in plot_names]
        parts += [table_html(tables[name]) for name in table_names]
    for title, extra in extra_sections:
        parts.append(f"<h2>{esc(title)}</h2>" + "".join(table_html(t) for t in extra))
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>prescreen audit</title>"
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")
