"""`prescreen init` and `prescreen check` through click's runner, with the real offline pipeline (the fake embedder
stands in for the model, except in the slow test): the scaffold reads as a manifest, and check's exit status says
whether something must be fixed (1), nothing must (0), or the bundle cannot be read (2)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from prescreen.bundle import read_manifest
from prescreen.cli import main
from prescreen.rubrics import RubricLibrary
from prescreen.settings import Settings
from tests.earner_kit import CREDENTIAL, tiny_bundle, write_rubric
from tests.fakes import StemHashEmbeddings

EQUITY = RubricLibrary().get("leading-an-equitable-learning-culture")


@pytest.fixture
def rubrics(monkeypatch, tmp_path) -> Path:
    """The tiny credential beside the shipped ones (PRESCREEN_RUBRICS_DIR)."""
    folder = write_rubric(tmp_path / "rubrics")
    monkeypatch.setenv("PRESCREEN_RUBRICS_DIR", str(folder))
    return folder


@pytest.fixture
def fake_model(monkeypatch, rubrics):
    monkeypatch.setattr("prescreen.embeddings.make_embedder", lambda settings: StemHashEmbeddings())


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_init_lists_every_detail_in_a_manifest_that_reads(tmp_path):
    folder = tmp_path / "my-bundle"
    result = run("init", EQUITY.id, str(folder))
    assert result.exit_code == 0, result.output
    assert f"with its {len(EQUITY.details)} details listed" in result.output
    manifest = read_manifest(folder)
    assert manifest.issues == [] and manifest.credential == EQUITY.id and manifest.artifacts == []
    assert [e.detail for e in manifest.self_analysis] == [d.id for d in EQUITY.details]
    assert manifest.parts == {"overview": "overview.md", "reflection": "reflection.md"}
    text = (folder / "submission.yaml").read_text()
    assert "# Articulates a working definition of equity" in text and "a documented plan with measurable" in text
    assert "At least 1000 words. Answer: How do you define equity" in text
    assert (folder / "overview.md").read_text() == "# Part 1, Overview Questions\n" and (folder / "artifacts").is_dir()


def test_init_never_overwrites(tmp_path):
    folder = tmp_path / "work" / "mine"
    folder.mkdir(parents=True)
    (folder / "submission.yaml").write_text("my work")
    result = run("init", EQUITY.id, str(folder))
    assert result.exit_code == 2 and "exists already" in result.output
    assert (folder / "submission.yaml").read_text() == "my work"
    assert [p.name for p in folder.parent.iterdir()] == ["mine"]  # no temporary folder left beside it


def test_init_names_the_known_credentials(tmp_path):
    result = run("init", "no-such-credential", str(tmp_path / "b"))
    assert result.exit_code == 2 and "unknown credential 'no-such-credential' (known: " in result.output
    assert not (tmp_path / "b").exists()


def test_a_fresh_scaffold_has_things_to_fix(fake_model, tmp_path):
    run("init", CREDENTIAL, str(tmp_path / "fresh"))
    result = run("check", str(tmp_path / "fresh"))
    assert result.exit_code == 1
    assert "MUST FIX: The overview is 37 words short." in result.output
    assert "MUST FIX: Your entry for EO1.1 points to no artifact." in result.output


def test_a_sound_bundle_passes_with_advice_only(fake_model, tmp_path):
    result = run("check", str(tiny_bundle(tmp_path / "sound")))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("PRE-CHECK, NOT AN ASSESSMENT")
    # how many suggestions depends on the learned evidence model; that there is nothing to fix does not
    assert re.search(r"\n0 to fix before you submit, [1-9]\d* suggestions?\.\n", result.output), result.output
    assert "advice: Nothing in your submission was found for EO1.2." in result.output


def test_a_broken_pointer_fails_the_check(fake_model, tmp_path):
    entries = [{"detail": d, "evidence": [{"artifact": "A1", "locator": "p. 7"}],
                "explanation": "The roster page shows it."}
               for d in ("EO1.1", "EO1.2")]
    result = run("check", str(tiny_bundle(tmp_path / "broken", entries=entries)))
    assert result.exit_code == 1
    assert "MUST FIX: Your pointer p. 7: this file has 2 pages." in result.output


@pytest.mark.parametrize("make", [lambda tmp: tmp / "nowhere", lambda tmp: (tmp / "empty").mkdir() or tmp / "empty"])
def test_a_bundle_that_cannot_be_read_is_exit_2(fake_model, tmp_path, make):
    result = run("check", str(make(tmp_path)))
    assert result.exit_code == 2
    assert result.output.startswith("prescreen: ") and len(result.output.strip().splitlines()) == 1


@pytest.mark.slow
def test_check_with_the_real_model(rubrics, tmp_path):
    """The command as an earner runs it: the packaged embedding model, the offline drafter."""
    result = run("check", "--quiet", str(tiny_bundle(tmp_path / "sound")))
    assert result.exit_code == 0, result.output
    assert "EO1.1  Implements a structure" in result.output and "found in A1 (roster), p. 1:" in result.output


def test_init_fills_an_empty_folder(tmp_path):
    folder = tmp_path / "work" / "empty"
    folder.mkdir(parents=True)
    assert run("init", EQUITY.id, str(folder)).exit_code == 0
    assert (folder / "submission.yaml").is_file() and [p.name for p in folder.parent.iterdir()] == ["empty"]


def test_check_as_json_for_scripts(fake_model, tmp_path):
    import json

    result = run("check", "--json", str(tiny_bundle(tmp_path / "sound")))
    assert result.exit_code == 0
    check = json.loads(result.output)
    assert check["credential"] == CREDENTIAL and [d["detail_id"] for d in check["details"]] == ["EO1.1", "EO1.2"]
    assert check["label"].startswith("Pre-check, not an assessment.")


def test_the_earner_commands_import_on_their_own():
    """cli.py imports cli_earner at its end: importing cli_earner first must not meet a half-made cli module."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import prescreen.cli_earner as m, prescreen.cli as c; "
                           "assert c.main.get_command(None, 'check') is m.check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_users_add_creates_an_earner_who_signs_in_as_one(db_url, monkeypatch, tmp_path):
    from prescreen.review.workflow import ReviewService

    monkeypatch.setenv("PRESCREEN_DATABASE_URL", db_url)
    monkeypatch.setenv("PRESCREEN_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["users", "add", "dana", "--role", "earner", "--password-stdin"],
                                input="dana-pass-123\n")
    assert result.exit_code == 0, result.output
    service = ReviewService.from_settings(Settings())
    assert service.authenticate("dana", "dana-pass-123").role == "earner"
