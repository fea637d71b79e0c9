"""The program lead's commands: `prescreen audit`, `prescreen rubrics lint`, `prescreen badge export|keygen`.

A thin edge over prescreen.audit and prescreen.badges; core errors become one line and exit 2 (cli._Group).
`register(main, rubrics)` adds them to the `prescreen` command and its `rubrics` group.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click

from prescreen.cli import _review, fail

DAY = click.DateTime(["%Y-%m-%d"])


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _write(text: str, out: Path | None) -> None:
    if out is None:
        click.echo(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    click.echo(f"written to {out}", err=True)


@click.command()
@click.option("--credential", help="Only this credential (rubric id).")
@click.option("--rubric-version", help="Only submissions last screened with this rubric version.")
@click.option("--since", type=DAY, help="Ingested on or after this day (YYYY-MM-DD).")
@click.option("--until", type=DAY, help="Ingested on or before this day (YYYY-MM-DD).")
@click.option("--format", "fmt", type=click.Choice(["html", "csv", "json"]), default="html", show_default=True)
@click.option("--out", type=click.Path(path_type=Path),
              help="File to write (html, json; default: standard output) or folder of CSV files (default: audit-csv).")
def audit(credential, rubric_version, since, until, fmt: str, out: Path | None) -> None:
    """The audit of the review database: coverage, AI vs human, assessors, flow.

    html: one self-contained page with the plots embedded; csv: one file per table; json: every section.
    """
    from prescreen.audit import AuditFilter, build_audit
    from prescreen.audit.report import write_csv

    where = AuditFilter(credential=credential, rubric_version=rubric_version, since=_day(since), until=_day(until))
    if where.since and where.until and where.since > where.until:
        fail(f"--since {where.since} is after --until {where.until}: swap them")
    result = build_audit(_review().sessions, where)
    if fmt == "csv":
        for path in write_csv(result.tables(), out or Path("audit-csv")):
            click.echo(path)
    elif fmt == "json":
        _write(result.model_dump_json(indent=2), out)
    else:
        from prescreen.audit.html import render_html

        _write(render_html(result), out)


def register(main: click.Group, rubrics: click.Group) -> None:
    """Add the lead's commands to `prescreen` (and `lint` to `prescreen rubrics`)."""
    main.add_command(audit)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run it as: prescreen audit")
