"""Disk and recovery: no zip folder is left behind, a torn cache entry is a miss, a bad data directory is one
line, a zip name that is not UTF-8 is a clear error, and one bad bundle never stops a batch."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from prescreen import cachefile
from prescreen.bundle import open_bundle
from prescreen.cli import main
from prescreen.errors import BundleError
from prescreen.pipeline import Screener
from prescreen.settings import LimitSettings, Settings
from tests.factories import make_pdf, make_zip, write_bundle, zip_folder
from tests.fakes import StemHashEmbeddings

TEXT = ("In October 2025 our staff examined attendance data by subgroup and shared the findings with every "
        "family at our equity night.")


def small_bundle(root: Path, credential: str = "leading-an-equitable-learning-culture") -> Path:
    manifest = {"format": 1, "submission_id": "S-DISK", "credential": credential,
                "parts": {"overview": "overview.md", "reflection": "reflection.md"},
                "artifacts": [{"id": "A1", "file": "artifacts/audit.pdf"}, {"id": "A2", "file": "artifacts/notes.md"}]}
    pdf = make_pdf(root.parent / "src" / "audit.pdf", [TEXT, "Page two of the audit."])
    files = {"overview.md": TEXT, "reflection.md": TEXT, "artifacts/audit.pdf": pdf.read_bytes(),
             "artifacts/notes.md": TEXT}
    return write_bundle(root, manifest, files)


@pytest.fixture
def screener(tmp_path) -> Screener:
    return Screener(Settings(data_dir=tmp_path / "data"), embedder=StemHashEmbeddings())


def leftovers(screener: Screener) -> list[Path]:
    work = screener.settings.data_dir / "work"
    return sorted(work.iterdir()) if work.exists() else []


# ---------------------------------------------------------------- zip work folders


def test_zip_folder_is_removed_after_each_screen(screener, tmp_path):
    zipped = zip_folder(small_bundle(tmp_path / "b"), tmp_path / "b.zip", top="b")
    for _ in range(3):
        assert screener.screen(zipped).report.readiness != "unscreenable"
    assert leftovers(screener) == []


def test_zip_folder_is_removed_when_the_bundle_cannot_be_screened(screener, tmp_path):
    unknown = zip_folder(small_bundle(tmp_path / "u", credential="no-such-credential"), tmp_path / "u.zip")
    no_manifest = make_zip(tmp_path / "n.zip", {"overview.md": b"text"})
    bad_manifest = make_zip(tmp_path / "m.zip", {"submission.yaml": b"format: 1\nsubmission_id: [unclosed\n"})
    for path in (unknown, no_manifest, bad_manifest):
        assert screener.screen(path).report.readiness == "unscreenable"
    assert leftovers(screener) == []


def test_folders_left_by_a_killed_screen_are_swept(screener, tmp_path):
    work = screener.settings.data_dir / "work"
    stale, recent = work / "bundle-killed", work / "bundle-running"
    for folder in (stale, recent):
        (folder / "artifacts").mkdir(parents=True)
    os.utime(stale, (1_000_000, 1_000_000))  # 1970: a day old and more
    screener.screen(zip_folder(small_bundle(tmp_path / "b"), tmp_path / "b.zip"))
    assert leftovers(screener) == [recent]  # another screen's folder, in use right now, is left alone


def non_utf8_zip(path: Path) -> Path:
    """A zip whose entry name is flagged UTF-8 but holds bytes that are not."""
    make_zip(path, {"submission.yaml": b"format: 1\n", "artifacts/caf\u00e9.md": b"text"})
    path.write_bytes(path.read_bytes().replace("caf\u00e9".encode(), b"caf\xff\xfe"))
    return path


def test_zip_name_that_is_not_utf8_is_a_clear_bundle_error(tmp_path):
    with pytest.raises(BundleError, match="not UTF-8|is not"):
        open_bundle(non_utf8_zip(tmp_path / "bad.zip"), tmp_path / "work", LimitSettings())
    assert list((tmp_path / "work").iterdir()) == []


# ---------------------------------------------------------------- the extraction cache


def cache_entries(screener: Screener) -> list[Path]:
    return sorted((screener.settings.data_dir / "extract-cache").iterdir())


def test_torn_cache_entries_are_misses_and_are_rewritten(screener, tmp_path):
    bundle = small_bundle(tmp_path / "b")
    first = screener.screen(bundle).report
    entries = cache_entries(screener)
    assert entries
    for entry in entries:  # what a kill in the middle of a plain write leaves
        entry.write_bytes(entry.read_bytes()[: len(entry.read_bytes()) // 2])
    assert screener.screen(bundle).report == first
    assert all(isinstance(json.loads(e.read_text()), dict) for e in cache_entries(screener))


def test_cache_entry_of_the_wrong_shape_is_a_miss(screener, tmp_path):
    bundle = small_bundle(tmp_path / "b")
    first = screener.screen(bundle).report
    for entry in cache_entries(screener):
        entry.write_text('{"segments": "not a list"}')
    assert screener.screen(bundle).report == first


def test_a_write_that_fails_midway_leaves_the_old_entry_whole(tmp_path, monkeypatch):
    entry = tmp_path / "cache" / "e.json"
    cachefile.write_json(entry, {"segments": [1, 2, 3]})

    def dump_half_then_die(data, out):
        out.write('{"segments": [')
        raise OSError("disk full")

    monkeypatch.setattr(cachefile.json, "dump", dump_half_then_die)
    cachefile.write_json(entry, {"segments": [4, 5, 6]})
    assert json.loads(entry.read_text()) == {"segments": [1, 2, 3]}
    assert [p.name for p in entry.parent.iterdir()] == ["e.json"]  # no temporary file left behind


# ---------------------------------------------------------------- a data directory that cannot be used


def unusable_data_dirs(tmp_path: Path) -> list[Path]:
    a_file = tmp_path / "data-file"
    a_file.write_text("not a folder")
    dirs = [a_file, a_file / "below-a-file"]
    if os.geteuid() != 0:
        read_only = tmp_path / "read-only"
        read_only.mkdir(mode=0o500)
        dirs.append(read_only)
    elif Path("/sys/kernel").is_dir():
        dirs.append(Path("/sys/kernel"))  # root may write anywhere else: sysfs refuses even root
    return dirs


@pytest.mark.parametrize("command", [["screen", "BUNDLE"], ["ingest", "BUNDLE"], ["db", "upgrade"]])
def test_unusable_data_dir_is_one_line_and_exit_2(tmp_path, monkeypatch, command):
    bundle = small_bundle(tmp_path / "b")
    for data_dir in unusable_data_dirs(tmp_path):
        monkeypatch.setenv("PRESCREEN_DATA_DIR", str(data_dir))
        result = CliRunner().invoke(main, [str(bundle) if a == "BUNDLE" else a for a in command])
        assert result.exit_code == 2, (data_dir, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert result.output.count("\n") == 1 and "PRESCREEN_DATA_DIR" in result.output, result.output


# ---------------------------------------------------------------- one bad bundle never stops a batch


@pytest.fixture
def cli_lead(tmp_path, monkeypatch):
    monkeypatch.setattr("prescreen.embeddings.make_embedder", lambda settings: StemHashEmbeddings())
    runner = CliRunner()
    runner.invoke(main, ["users", "add", "lead", "--role", "lead", "--password-stdin"], input="lead-pass-1\n")
    return runner


def test_ingest_goes_on_after_bad_bundles_and_counts_them(cli_lead, tmp_path):
    good = small_bundle(tmp_path / "good")
    bad_zip = non_utf8_zip(tmp_path / "bad.zip")
    not_a_bundle = tmp_path / "empty"
    not_a_bundle.mkdir()
    result = cli_lead.invoke(main, ["ingest", str(bad_zip), str(not_a_bundle), str(good)])
    assert result.exit_code == 3, result.output  # 1 + two bundles that failed
    assert "S-DISK · attempt 1" in result.output  # the good one was ingested after the bad ones
    assert f"{bad_zip}: cannot be screened" in result.output and "UTF-8" in result.output
    assert f"{not_a_bundle}: cannot be screened" in result.output
    assert "2 of 3 bundles failed" in result.output
