"""The command line: a thin edge over the pipeline. Core errors become one clear line and exit code 2."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markdown import Markdown

from prescreen.cli_base import (
    EXIT_UNUSABLE,
    fail,
    make_drafter,
    only_lead,
    progress_on_stderr,
    review_service,
    usable_settings,
)
from prescreen.cli_earner import register as register_earner_commands
from prescreen.cli_lead import register as register_lead_commands
from prescreen.errors import PrescreenError
from prescreen.review.accounts import ROLES
from prescreen.settings import Settings


class _Group(click.Group):
    """Turns the core's errors into one line on stderr, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PrescreenError as exc:
            fail(str(exc))


@click.group(cls=_Group)
@click.version_option(package_name="prescreen")
def main() -> None:
    """Pre-screen micro-credential submissions before human assessors review them."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # damaged PDFs are reported as problems, not log noise


@main.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
@click.option("--drafter", type=click.Choice(["auto", "extractive", "llm"]), default="auto", show_default=True,
              help="extractive: offline, no model; llm: an OpenAI-compatible model (see README); "
                   "auto: llm when one is configured, else extractive.")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
def screen(bundle: Path, fmt: str, drafter: str, quiet: bool) -> None:
    """Screen BUNDLE (a folder or a .zip with submission.yaml) and print the report.

    Exit status: 0 when the bundle was screened, whatever its readiness; 2 when it could not be.
    """
    from prescreen.pipeline import Screener
    from prescreen.render import to_markdown

    if not bundle.exists():
        fail(f"{bundle}: no such file or folder")
    settings = usable_settings()
    screener = Screener(settings, drafter=make_drafter(settings, drafter))
    with progress_on_stderr(quiet) as progress:
        result = screener.screen(bundle, progress=progress)
    report = result.report
    if fmt == "json":
        click.echo(report.to_json())
    else:
        _print_markdown(to_markdown(report, result.rubric))
    if report.readiness == "unscreenable":
        fail(f"{bundle}: cannot be screened: {report.message}")


def _print_markdown(text: str) -> None:
    console = Console()
    if console.is_terminal:
        console.print(Markdown(text))
    else:
        click.echo(text)


@main.command()
@click.argument("labels", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="The folder the answer keys' `bundle:` paths are relative to.")
@click.option("--reviews/--no-reviews", default=True, show_default=True,
              help="Also learn from assessors' confirmed and overridden findings in the review database.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the weights (default: evidence_model.json in the data directory, which "
                   "screening then uses).")
def train(labels: tuple[Path, ...], root: Path, reviews: bool, out: Path | None) -> None:
    """Retrain the offline drafter's evidence model from labelled bundles (answer keys *.labels.yaml, or
    folders of them) and from assessors' work, with cross-validation; print what it learned."""
    from prescreen.evidence_model import EvidenceModel
    from prescreen.pipeline import Screener
    from prescreen.train import fit, label_files, reviewed_runs, rows_from_labels, rows_from_reviews

    settings = usable_settings()
    screener = Screener(settings, evidence_model=EvidenceModel.untrained())
    with progress_on_stderr(quiet=False):
        rows = rows_from_labels(screener, label_files(labels), root)
        rows += rows_from_reviews(screener, reviewed_runs(settings)) if reviews else []
    if len({r.group for r in rows}) < 2:
        fail("training needs at least two labelled or reviewed submissions")
    model = fit(rows)
    path = model.save(out or settings.data_dir / "evidence_model.json")
    click.echo(f"trained on {model.trained_on}; weights written to {path}")
    for name, linear in (("sentence model", model.sentence), ("status model", model.status)):
        click.echo(f"\n{name} (standardised coefficients; classes {', '.join(linear.classes)}):")
        for feature, weights in linear.weights_table():
            click.echo(f"  {feature:24} " + "  ".join(f"{w:+.3f}" for w in weights))


@main.group()
def rubrics() -> None:
    """List, show and validate rubrics."""


@rubrics.command("list")
def rubrics_list() -> None:
    """The rubrics prescreen knows."""
    from prescreen.rubrics import RubricLibrary

    for rubric in RubricLibrary(Settings().rubrics_dir).all().values():
        click.echo(f"{rubric.id}\t{rubric.version}\t{len(rubric.details)} details\t{rubric.title}")


@rubrics.command("show")
@click.argument("rubric_id")
def rubrics_show(rubric_id: str) -> None:
    """A rubric's parts, outcomes and details."""
    from prescreen.rubrics import RubricLibrary

    rubric = RubricLibrary(Settings().rubrics_dir).get(rubric_id)
    click.echo(f"{rubric.title} ({rubric.id}, version {rubric.version})\n{rubric.passing_rule}\n")
    for part in rubric.parts:
        minimum = f", minimum {part.minimum_words} words" if part.minimum_words else ""
        click.echo(f"part {part.id}: {part.title}{minimum}")
    for outcome in rubric.outcomes:
        click.echo(f"\n{outcome.id} {outcome.title}")
        for detail in outcome.details:
            click.echo(f"  {detail.id} {detail.text}")


@rubrics.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def rubrics_validate(paths: tuple[Path, ...]) -> None:
    """Check rubric files; exit 2 naming the file, place and line of the first problem."""
    from prescreen.rubrics import load_rubric

    for path in paths:
        rubric = load_rubric(path)
        click.echo(f"{path}: ok ({rubric.id} {rubric.version}, {len(rubric.outcomes)} outcomes, "
                   f"{len(rubric.details)} details)")


@main.command()
def schema() -> None:
    """Print the JSON Schema of the screening report."""
    from prescreen.report import json_schema

    click.echo(json_schema())


# ---------------------------------------------------------------- review workflow: accounts, ingest, demo, database

@main.group()
def users() -> None:
    """Accounts: earners, assessors and leads."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(list(ROLES)), required=True)
@click.option("--display-name", default="", help="Shown in the interface instead of the username.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def users_add(username: str, role: str, display_name: str, password_stdin: bool) -> None:
    """Create a user. The password is asked for twice, unless --password-stdin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = review_service().create_user(username, password, role, display_name, actor="cli")
    click.echo(f"created {user.role} {user.username}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--as", "lead", help="The lead doing it, for the audit log (default: the only lead).")
@click.option("--auto-assign", is_flag=True, help="Assign each complete submission to the two least-loaded assessors.")
def ingest(paths: tuple[Path, ...], lead: str | None, auto_assign: bool) -> None:
    """Pre-screen bundles (folders or .zip) and add them to the review queue.

    One line per bundle; a bundle that fails (refused, or that cannot be screened) gets its line on stderr and
    the others go on. Exit status: 0 when every bundle was ingested and screened, else 1 + the number that
    failed (2: one failed, 3: two ...), at most 125.
    """
    service = review_service()
    lead = lead or only_lead(service)
    failed = sum(not _ingest_one(service, lead, path, auto_assign) for path in paths)
    if failed:
        click.echo(f"prescreen: {failed} of {len(paths)} bundles failed", err=True)
        sys.exit(min(EXIT_UNUSABLE - 1 + failed, 125))


def _ingest_one(service, lead: str, path: Path, auto_assign: bool) -> bool:
    """Ingest one bundle and print its line; False (with the reason on stderr) when it failed."""
    try:
        view = service.ingest(lead, path)
        if auto_assign and view.state == "awaiting_assignment":
            view = service.auto_assign(lead, view.id)
    except (PrescreenError, OSError) as exc:
        click.echo(f"prescreen: {path}: {exc}", err=True)
        return False
    except Exception as exc:  # one broken bundle never stops the batch: say what broke, go on with the rest
        click.echo(f"prescreen: {path}: unexpected error ({type(exc).__name__}: {exc})", err=True)
        return False
    click.echo(_submission_line(view))
    if view.readiness == "unscreenable":
        click.echo(f"prescreen: {path}: {'; '.join(view.incomplete_reasons)}", err=True)
        return False
    return True


def _submission_line(view) -> str:
    line = f"#{view.id}\t{view.label}\t{view.state}\t{view.readiness}"
    if view.assigned_to:
        line += f"\tassigned to {', '.join(view.assigned_to)}"
    if view.incomplete_reasons:
        line += "\tincomplete: " + "; ".join(view.incomplete_reasons)
    return line


@main.command()
@click.option("--from", "root", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A prescreen checkout holding examples/ and benchmarks/labelled/ (default: this one).")
def demo(root: Path | None) -> None:
    """Load a demo: users lead, ana, ben and cam, a gold set, and a queue with work in every state.

    Five sample bundles are screened; the lead marks a gold set, on which ana passes calibration and cam (new)
    does not; the lead, ana and ben then assign, review, disagree, adjudicate and return (review/demo.py), so
    the queue holds submissions awaiting assignment, in review, awaiting adjudication, final (earned and not
    yet), incomplete and returned, and the audit has finished reviews to read.
    Passwords: lead-demo-pass, ana-demo-pass, ben-demo-pass, cam-demo-pass. Running it again changes nothing.
    """
    from prescreen.review.demo import BUNDLES, USERS, load_demo, loaded

    root = root or Path(__file__).resolve().parents[2]
    if missing := [b for b in BUNDLES if not (root / b / "submission.yaml").is_file()]:
        fail(f"no demo bundle {missing[0]} under {root}: pass --from PATH to a prescreen checkout")
    service = review_service()
    if loaded(service):
        click.echo("the demo is loaded already: nothing to do")
        return
    for item in load_demo(service, root):
        click.echo(f"#{item.submission}\t{item.label}\t{item.state}\t{item.readiness}"
                   + (f"\tassigned to {', '.join(item.assigned_to)}" if item.assigned_to else ""))
    click.echo("sign in as " + ", ".join(f"{user} / {password}" for user, password, *_ in USERS))


@main.group()
def db() -> None:
    """The review database (SQLite in the data directory, or DATABASE_URL)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Bring the review database to the latest schema (the app and the other commands do it at start)."""
    from sqlalchemy.engine import make_url

    from prescreen.review.db import database_url, make_engine, upgrade

    url = database_url(usable_settings())
    upgrade(make_engine(url))
    click.echo(f"{make_url(url).render_as_string(hide_password=True)}: at the latest schema")


@main.command()
@click.option("--port", type=int, default=7860, show_default=True, envvar="PRESCREEN_UI_PORT",
              help="Local port (also PRESCREEN_UI_PORT); the app listens on 127.0.0.1 only.")
def serve(port: int) -> None:
    """Start the review interface (the same app as `python app.py`), behind a login."""
    from prescreen.ui import serve as serve_app

    serve_app(review_service(), port)


register_lead_commands(main, rubrics)  # audit, rubric lint, badges, gold set, calibration
register_earner_commands(main)  # init, check


if __name__ == "__main__":
    main()
