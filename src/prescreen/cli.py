"""The command line: a thin edge over the pipeline. Core errors become one clear line and exit code 2."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.markdown import Markdown

from prescreen.errors import PrescreenError
from prescreen.settings import Settings

EXIT_UNUSABLE = 2


def fail(message: str) -> None:
    click.echo(f"prescreen: {message}", err=True)
    sys.exit(EXIT_UNUSABLE)


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
    from prescreen.llm import make_drafter
    from prescreen.pipeline import Screener
    from prescreen.render import to_markdown

    if not bundle.exists():
        fail(f"{bundle}: no such file or folder")
    settings = Settings()
    screener = Screener(settings, drafter=make_drafter(settings, drafter))
    with _progress(quiet) as progress:
        result = screener.screen(bundle, progress=progress)
    report = result.report
    if fmt == "json":
        click.echo(report.to_json())
    else:
        _print_markdown(to_markdown(report, result.rubric))
    if report.readiness == "unscreenable":
        fail(f"{bundle}: cannot be screened: {report.message}")


@contextmanager
def _progress(quiet: bool):
    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        yield lambda step: None
        return
    with console.status("screening") as status:
        yield lambda step: status.update(f"{step}…")


def _print_markdown(text: str) -> None:
    console = Console()
    if console.is_terminal:
        console.print(Markdown(text))
    else:
        click.echo(text)


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
        click.echo(f"{path}: ok ({rubric.id} {rubric.version}, {len(rubric.outcomes)} outcomes, {len(rubric.details)} details)")


@main.command()
def schema() -> None:
    """Print the JSON Schema of the screening report."""
    from prescreen.report import json_schema

    click.echo(json_schema())


if __name__ == "__main__":
    main()
