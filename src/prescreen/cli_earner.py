"""The earner's commands: `prescreen init CREDENTIAL DIR` and `prescreen check DIR`.

A thin edge over prescreen.earner; core errors become one line and exit 2 (cli._Group).
`register(main)` adds them to the `prescreen` command.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from prescreen.cli_base import fail, make_drafter, progress_on_stderr, usable_settings

EXIT_MUST_FIX = 1


@click.command()
@click.argument("credential")
@click.argument("folder", type=click.Path(path_type=Path))
def init(credential: str, folder: Path) -> None:
    """Start a bundle for CREDENTIAL in the new folder FOLDER: a submission.yaml listing every rubric detail with
    what to point to, and a file per text part. Nothing is overwritten."""
    from prescreen.earner.scaffold import scaffold
    from prescreen.rubrics import RubricLibrary

    rubric = RubricLibrary(usable_settings().rubrics_dir).get(credential)
    scaffold(rubric, folder)
    click.echo(f"{folder}: a bundle for {rubric.title} with its {len(rubric.details)} details listed in "
               f"submission.yaml. Write the parts, add your artifacts, point to the evidence, then run "
               f"`prescreen check {folder}`.")


@click.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="The self-check as JSON (for scripts), not text.")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
def check(folder: Path, as_json: bool, quiet: bool) -> None:
    """Pre-check the bundle FOLDER (or .zip) before you submit it: the offline screen, in your words.

    Exit status: 0 when nothing must be fixed (advice may remain), 1 when something must, 2 when the bundle
    cannot be read at all.
    """
    from prescreen.earner.selfcheck import self_check, to_text
    from prescreen.pipeline import Screener

    if not folder.exists():
        fail(f"{folder}: no such file or folder")
    settings = usable_settings()
    screener = Screener(settings, drafter=make_drafter(settings, "extractive"))
    with progress_on_stderr(quiet) as progress:
        screening = screener.screen(folder, progress=progress)
    if screening.report.readiness == "unscreenable":
        fail(f"{folder}: cannot be checked: {screening.report.message}")
    result = self_check(screening)
    click.echo(result.model_dump_json(indent=2) if as_json else to_text(result))
    if result.must_fix:
        sys.exit(EXIT_MUST_FIX)


def register(main: click.Group) -> None:
    main.add_command(init)
    main.add_command(check)
