"""The program lead's commands: `prescreen audit`, `prescreen rubrics lint`, `prescreen badge keygen|export`,
`prescreen gold mark|list` and `prescreen calibration status|assign|require`.

A thin edge over prescreen.audit and prescreen.badges; core errors become one line and exit 2 (cli._Group).
`register(main, rubrics)` adds them to the `prescreen` command and its `rubrics` group.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import click

from prescreen.cli_base import fail, only_lead, review_service, usable_settings

DAY = click.DateTime(["%Y-%m-%d"])


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


@contextmanager
def _writing(path: Path):
    """An OSError while writing `path` becomes one line and exit 2."""
    try:
        yield
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")


def _write(text: str, out: Path | None) -> None:
    if out is None:
        click.echo(text)
        return
    with _writing(out):
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
@click.option("--similarity/--no-similarity", default=True, show_default=True,
              help="Include the rubric lint's embedding similarity of details (loads the embedding model).")
def audit(credential, rubric_version, since, until, fmt: str, out: Path | None, similarity: bool) -> None:
    """The audit of the review database: coverage, AI vs human, assessors, flow, rubric lint.

    html: one self-contained page with the plots embedded; csv: one file per table; json: every section.
    """
    from prescreen.audit import AuditFilter, build_audit
    from prescreen.audit.lint import lint_audit
    from prescreen.audit.report import write_csv

    where = AuditFilter(credential=credential, rubric_version=rubric_version, since=_day(since), until=_day(until))
    if where.since and where.until and where.since > where.until:
        fail(f"--since {where.since} is after --until {where.until}: swap them")
    service = review_service()
    result = build_audit(service.sessions, where, calibration=service.program.calibration)
    lint = lint_audit(result, _embedder() if similarity else None)
    if fmt == "csv":
        folder = out or Path("audit-csv")
        with _writing(folder):
            paths = write_csv([*result.tables(), *lint.tables()], folder)
        click.echo("\n".join(map(str, paths)))
    elif fmt == "json":
        _write(json.dumps({**result.model_dump(mode="json"), "lint": lint.model_dump(mode="json")}, indent=2), out)
    else:
        from prescreen.audit.html import render_html

        _write(render_html(result, [("Rubric lint", lint.tables())]), out)


def _embedder():
    from prescreen.embeddings import make_embedder

    return make_embedder(usable_settings())


@click.command("lint")
@click.argument("rubrics", nargs=-1)
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.70, show_default=True,
              help="Cosine similarity of two details' queries at which the pair is flagged.")
@click.option("--top", type=click.IntRange(0), default=5, show_default=True,
              help="Pairs shown per rubric: the flagged ones, then the closest others.")
@click.option("--reviews/--no-reviews", default=True, show_default=True,
              help="Also report, from the review database, details rarely evidenced and those disagreed on most.")
def rubrics_lint(rubrics: tuple[str, ...], threshold: float, top: int, reviews: bool) -> None:
    """Lint rubrics (ids or files; default: every rubric prescreen knows): details so alike that evidence for one
    is retrieved for the other, shared look-fors; with --reviews, what the review data shows.

    Exit status 1 when a pair is flagged or a look-for is shared, else 0.
    """
    from prescreen.audit.lint import lint_rubric

    embedder, chosen = _embedder(), _rubrics(rubrics)
    problems = 0
    for rubric in chosen:
        result = lint_rubric(rubric, embedder, threshold, top)
        problems += result.problems
        _print_rubric_lint(result)
    if reviews:
        _print_data_lint([r.id for r in chosen])
    if problems:
        click.echo(f"prescreen: {problems} problem(s) found", err=True)
        sys.exit(1)


def _rubrics(names: tuple[str, ...]):
    from prescreen.rubrics import RubricLibrary, load_rubric

    library = RubricLibrary(usable_settings().rubrics_dir)
    if not names:
        return list(library.all().values())
    return [load_rubric(Path(n)) if Path(n).is_file() else library.get(n) for n in names]


def _print_rubric_lint(result) -> None:
    click.echo(f"{result.rubric} (version {result.version})")
    for pair in result.pairs:
        mark = "FLAG " if pair.flagged else "     "
        click.echo(f"  {mark}{pair.first} ~ {pair.second}  similarity {pair.similarity:.2f}")
    for shared in result.shared_look_fors:
        click.echo(f"  FLAG look-for {shared.look_for!r} is in {', '.join(shared.details)}")


def _print_data_lint(credentials: list[str]) -> None:
    from prescreen.audit import AuditFilter, build_audit
    from prescreen.audit.html import describe
    from prescreen.audit.lint import lint_data

    for credential in credentials:
        data = lint_data(build_audit(review_service().sessions, AuditFilter(credential=credential)))
        click.echo(f"{credential}: from the review data")
        for rare in data.rarely_evidenced:
            never = "never" if rare.never else "rarely"
            click.echo(f"  {rare.detail_id} {never} evidenced ({rare.final_n} final results, {rare.drafted_n} drafts)")
        for title, rows in (("assessors disagree", data.assessor_disagreement),
                            ("AI and final differ", data.ai_disagreement)):
            for row in rows:
                click.echo(f"  {row.detail_id}: {title}: {describe(row.stats)}")


@click.group()
def badge() -> None:
    """Open Badges 3.0 credentials for earned results, signed by the issuer (PRESCREEN_ISSUER_* settings)."""


@badge.command("keygen")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the private key (default: PRESCREEN_ISSUER_KEY_FILE, else issuer-ed25519.pem "
                   "in the data directory).")
@click.option("--force", is_flag=True, help="Replace an existing key (badges signed with it stop verifying).")
def badge_keygen(out: Path | None, force: bool) -> None:
    """Make the issuer's Ed25519 signing key; print its public JWK, to publish in the issuer's profile."""
    from prescreen.badges import generate_key, public_jwk

    settings = usable_settings()
    issuer = settings.issuer
    path = out or issuer.key_path(settings.data_dir)
    with _writing(path):
        key = generate_key(path, overwrite=force)
    click.echo(f"private key written to {path} (keep it secret); public key:", err=True)
    click.echo(json.dumps(public_jwk(key, issuer.id), indent=2))


@badge.command("export")
@click.argument("submission_id", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: standard output).")
@click.option("--format", "fmt", type=click.Choice(["jwt", "json"]), default="jwt", show_default=True,
              help="jwt: the signed VC-JWT (the credential); json: its payload, the OpenBadgeCredential, to read.")
def badge_export(submission_id: int, out: Path | None, fmt: str) -> None:
    """Issue the OpenBadgeCredential of SUBMISSION_ID's earned final result (its #number in the queue)."""
    from prescreen.badges import issue_with

    settings = usable_settings()
    issued = issue_with(review_service().sessions, submission_id, settings.issuer, settings.data_dir)
    _write(issued.jwt if fmt == "jwt" else json.dumps(issued.credential, indent=2, ensure_ascii=False), out)


# ---------------------------------------------------------------- calibration: the gold set

AS_LEAD = click.option("--as", "lead", help="The lead doing it, for the audit log (default: the only lead).")


def _calibration(lead: str | None):
    """The lead's calibration actions, and who does them."""
    from prescreen.review.calibration import Calibration

    service = review_service()
    return Calibration(service), lead or only_lead(service)


def _true_scores(pairs: tuple[str, ...]) -> dict[str, str]:
    scores = {}
    for pair in pairs:
        detail, sep, score = pair.partition("=")
        if not sep:
            fail(f"--score {pair}: write DETAIL=demonstrated or DETAIL=not_yet")
        scores[detail.strip()] = score.strip()
    return scores


@click.group()
def gold() -> None:
    """The gold set: submissions with true per-detail scores that assessors calibrate on (lead only)."""


@gold.command("mark")
@click.argument("submission_id", type=int)
@click.option("--from-final", is_flag=True, help="True scores: exactly the final result's (it must have one).")
@click.option("--score", "scores", multiple=True, metavar="DETAIL=SCORE",
              help="A true score (demonstrated or not_yet), overriding the final result's; repeat per detail.")
@AS_LEAD
def gold_mark(submission_id: int, from_final: bool, scores: tuple[str, ...], lead: str | None) -> None:
    """Add SUBMISSION_ID to the gold set (by default with its final result's scores as the true ones)."""
    if from_final and scores:
        fail("give either --from-final or --score, not both")
    calibration, lead = _calibration(lead)
    view = calibration.mark_gold(lead, submission_id, _true_scores(scores) or None, from_final=from_final)
    click.echo(f"#{view.submission}	{view.label}	gold (true scores from {view.source})")


@gold.command("list")
@AS_LEAD
def gold_list(lead: str | None) -> None:
    """The gold set, with each submission's true scores and how many gold reviews it has had."""
    calibration, lead = _calibration(lead)
    for view in calibration.gold(lead):
        truth = ", ".join(f"{d}={s}" for d, s in view.true_scores.items())
        click.echo(f"#{view.submission}	{view.label}	{view.reviews} gold reviews	{truth}")


@click.group("calibration")
def calibration_group() -> None:
    """Assessor calibration against the gold set (PRESCREEN_CALIBRATION_REQUIRED, _GOLD_REVIEWS, _THRESHOLD)."""


@calibration_group.command("status")
@AS_LEAD
def calibration_status(lead: str | None) -> None:
    """Each assessor's agreement with the true scores, and whether they may get live work. Exit 1 when one is
    flagged (below the threshold)."""
    from prescreen.audit.html import describe

    calibration, lead = _calibration(lead)
    statuses = calibration.status(lead)
    for status in statuses:
        live = "live work" if status.live_work else "NO live work"
        click.echo(f"{status.assessor}	{status.standing.replace('_', ' ')}	{status.gold_reviews} gold reviews"
                   f"	{describe(status.stats)}	{live}")
        if status.why:
            click.echo(f"  {status.why}")
    if any(s.standing == "below_threshold" for s in statuses):
        sys.exit(1)


@calibration_group.command("assign")
@click.argument("assessor")
@click.option("--count", type=click.IntRange(1), help="Gold reviews to assign (default: PRESCREEN_CALIBRATION_"
              "GOLD_REVIEWS).")
@AS_LEAD
def calibration_assign(assessor: str, count: int | None, lead: str | None) -> None:
    """Assign ASSESSOR gold submissions they have never had; they score them blind, as live work."""
    calibration, lead = _calibration(lead)
    ids = calibration.assign(lead, assessor, count)
    click.echo(f"gold reviews assigned to {assessor}: {', '.join(f'#{i}' for i in ids)}")


@calibration_group.command("require")
@click.argument("assessor")
@AS_LEAD
def calibration_require(assessor: str, lead: str | None) -> None:
    """Ask ASSESSOR to calibrate again: no live work until they pass on gold reviews submitted from now on."""
    calibration, lead = _calibration(lead)
    status = calibration.require(lead, assessor)
    click.echo(f"{status.assessor}: no live work until calibrated again ({status.why})")


def register(main: click.Group, rubrics: click.Group) -> None:
    """Add the lead's commands to `prescreen` (and `lint` to `prescreen rubrics`)."""
    main.add_command(audit)
    rubrics.add_command(rubrics_lint)
    main.add_command(badge)
    main.add_command(gold)
    main.add_command(calibration_group)
