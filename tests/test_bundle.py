"""open_bundle, resolve_member and read_manifest: hostile zips and bad manifests never get through,
and a bad entry in an otherwise good manifest costs only that entry."""

from __future__ import annotations

import os
import textwrap
import zipfile
from pathlib import Path

import pytest

from prescreen import bundle
from prescreen.bundle import open_bundle, read_manifest, resolve_member
from prescreen.errors import BundleError, UnsafeArchiveError
from prescreen.settings import LimitSettings
from tests.factories import make_zip, write_bundle, zip_folder

MIB = 1024 * 1024


def manifest(**changes) -> dict:
    base = {
        "format": 1,
        "submission_id": "S-2026-0042",
        "credential": "leading-an-equitable-learning-culture",
        "earner": {"name": "Jordan Rivera"},
        "parts": {"overview": "overview.md"},
        "artifacts": [
            {"id": "A1", "file": "artifacts/audit.pdf", "title": "Equity audit"},
            {"id": "A2", "file": "artifacts/night.vtt"},
        ],
        "self_analysis": [{"detail": "EO1.1", "evidence": [{"artifact": "A1", "locator": "p. 2"}], "explanation": "x"}],
    }
    return base | changes


FILES = {"overview.md": "# Overview\n\nText.", "artifacts/audit.pdf": b"%PDF-", "artifacts/night.vtt": "WEBVTT\n"}


@pytest.fixture
def folder(tmp_path) -> Path:
    return write_bundle(tmp_path / "bundle", manifest(), FILES)


def open_zip(path: Path, tmp_path: Path, **limits) -> bundle.Bundle:
    return open_bundle(path, tmp_path / "work", LimitSettings(**limits))


def write_manifest(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "submission.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return root


# ---------------------------------------------------------------- folders and zips


def test_folder_bundle(folder):
    opened = open_bundle(folder, folder.parent / "work", LimitSettings())
    assert opened.root == folder.resolve()
    assert opened.origin == str(folder)
    assert opened.manifest.submission_id == "S-2026-0042"
    assert [a.id for a in opened.manifest.artifacts] == ["A1", "A2"]
    assert opened.manifest.parts == {"overview": "overview.md"}
    assert opened.manifest.issues == []


@pytest.mark.parametrize("top", [None, "jordan-bundle"])
def test_zip_bundle_is_unpacked_under_workdir(folder, tmp_path, top):
    path = zip_folder(folder, tmp_path / "bundle.zip", top=top)
    opened = open_zip(path, tmp_path)
    assert opened.root.is_relative_to(tmp_path / "work")
    assert opened.root.name == (top or opened.root.name)
    assert (opened.root / "artifacts" / "night.vtt").read_text() == "WEBVTT\n"
    assert opened.manifest.submission_id == "S-2026-0042"


def test_zip_ignores_macos_extras_and_a_dot_folder(folder, tmp_path):
    members = {f"b/{p.relative_to(folder).as_posix()}": p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    members |= {"./": b"", "__MACOSX/b/._submission.yaml": b"junk", "b/.DS_Store": b"junk"}
    opened = open_zip(make_zip(tmp_path / "b.zip", members), tmp_path)
    assert opened.root.name == "b"
    assert not (opened.root / ".DS_Store").exists()
    assert not (opened.root.parent / "__MACOSX").exists()


@pytest.mark.parametrize(
    "name", ["../evil.txt", "ok/../../evil.txt", "/tmp/evil.txt", "..\\evil.txt", "C:/evil.txt", "C:evil.txt"]
)
def test_zip_entry_escaping_the_folder_is_refused(tmp_path, name):
    path = make_zip(tmp_path / "b.zip", {"submission.yaml": b"format: 1\n", name: b"pwned"})
    with pytest.raises(UnsafeArchiveError, match="outside the bundle folder") as info:
        open_zip(path, tmp_path)
    assert repr(name) in str(info.value)
    assert not (tmp_path / "evil.txt").exists()
    assert list((tmp_path / "work").iterdir()) == []  # the half-made folder is removed


def test_zip_symlink_entry_is_refused(tmp_path):
    path = make_zip(
        tmp_path / "b.zip", {"submission.yaml": b"format: 1\n"}, symlinks={"artifacts/x.pdf": "/etc/passwd"}
    )
    with pytest.raises(UnsafeArchiveError, match=r"'artifacts/x.pdf' is a symbolic link"):
        open_zip(path, tmp_path)


def test_zip_with_too_many_entries_is_refused(tmp_path):
    path = make_zip(tmp_path / "b.zip", {f"f{i}.txt": b"x" for i in range(6)})
    with pytest.raises(UnsafeArchiveError, match="6 entries"):
        open_zip(path, tmp_path, max_zip_entries=5)


def test_zip_bomb_is_refused_by_its_compression_ratio(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("submission.yaml", b"format: 1\n")
        archive.writestr("zeros.txt", bytes(50 * MIB))
    with pytest.raises(UnsafeArchiveError, match="'zeros.txt' expands .* zip bomb"):
        open_zip(path, tmp_path)
    assert list((tmp_path / "work").iterdir()) == []


def test_zip_over_the_declared_total_is_refused(tmp_path):
    path = make_zip(tmp_path / "b.zip", {"a.bin": os.urandom(MIB), "b.bin": os.urandom(MIB)})
    with pytest.raises(UnsafeArchiveError, match="unpack to 2.0 MB"):
        open_zip(path, tmp_path, max_zip_total_mb=1.5)


def test_zip_bytes_are_counted_while_unpacking(tmp_path, monkeypatch):
    """Declared sizes can lie: with the declared check out of the way, the byte counter still stops."""
    monkeypatch.setattr(bundle, "_check_declared_sizes", lambda infos, limits: None)
    path = make_zip(tmp_path / "b.zip", {"a.bin": os.urandom(MIB), "b.bin": os.urandom(MIB)})
    with pytest.raises(UnsafeArchiveError, match="'b.bin': the zip unpacks to more than the limit of 1.5 MB"):
        open_zip(path, tmp_path, max_zip_total_mb=1.5)


def test_zip_with_the_same_entry_twice_is_refused(tmp_path):
    path = tmp_path / "b.zip"
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "w") as archive:
        archive.writestr("submission.yaml", b"a")
        archive.writestr("submission.yaml", b"b")
    with pytest.raises(UnsafeArchiveError, match="appears twice"):
        open_zip(path, tmp_path)


@pytest.mark.parametrize("content", [b"not a zip at all", b"PK\x03\x04" + b"\x00" * 100])
def test_file_that_is_not_a_zip(tmp_path, content):
    (tmp_path / "b.zip").write_bytes(content)
    with pytest.raises(BundleError, match="not a readable zip") as info:
        open_zip(tmp_path / "b.zip", tmp_path)
    assert not isinstance(info.value, UnsafeArchiveError)


def test_path_that_is_not_a_bundle(tmp_path):
    (tmp_path / "b.tar").write_bytes(b"x")
    with pytest.raises(BundleError, match="a folder or a .zip"):
        open_zip(tmp_path / "b.tar", tmp_path)
    with pytest.raises(BundleError, match="no such file or folder"):
        open_zip(tmp_path / "missing", tmp_path)


def test_bundle_without_manifest(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="no submission.yaml at the bundle root"):
        open_zip(tmp_path / "empty", tmp_path)
    path = make_zip(tmp_path / "b.zip", {"one/overview.md": b"x", "two/submission.yaml": b"format: 1\n"})
    with pytest.raises(BundleError, match="no submission.yaml at the bundle root"):
        open_zip(path, tmp_path)


# ---------------------------------------------------------------- resolve_member


@pytest.mark.parametrize("relpath", ["../x.pdf", "a/../../x.pdf", "/etc/passwd", "C:\\x.pdf", "..\\x.pdf", "", "."])
def test_resolve_member_refuses_paths_out_of_the_root(tmp_path, relpath):
    with pytest.raises(BundleError, match="stay inside"):
        resolve_member(tmp_path, relpath)


def test_resolve_member_accepts_relative_paths(tmp_path):
    assert resolve_member(tmp_path, "artifacts/a.pdf") == tmp_path / "artifacts" / "a.pdf"
    assert resolve_member(tmp_path, "./artifacts\\a.pdf") == tmp_path / "artifacts" / "a.pdf"


def test_resolve_member_refuses_links_even_inside_the_root(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.pdf").write_bytes(b"x")
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    (tmp_path / "real" / "b.pdf").symlink_to(tmp_path / "real" / "a.pdf")
    for relpath in ["alias/a.pdf", "real/b.pdf"]:
        with pytest.raises(BundleError, match="goes through a link"):
            resolve_member(tmp_path, relpath)


# ---------------------------------------------------------------- manifest: fatal


def test_yaml_syntax_error_names_the_line(tmp_path):
    root = write_manifest(tmp_path / "b", "format: 1\nsubmission_id: S-1\ncredential: [unclosed\nattempt: 1\n")
    with pytest.raises(BundleError, match=r"submission.yaml line \d+: not valid YAML"):
        read_manifest(root)


def test_missing_submission_id_is_fatal_and_named(tmp_path):
    root = write_manifest(tmp_path / "b", "format: 1\ncredential: c\n")
    with pytest.raises(BundleError, match="submission.yaml: submission_id: Field required"):
        read_manifest(root)


def test_bad_head_field_names_its_line(tmp_path):
    root = write_manifest(tmp_path / "b", "format: 1\nsubmission_id: S-1\ncredential: c\nattempt: zero\n")
    with pytest.raises(BundleError, match="submission.yaml line 4: attempt: Input should be a valid integer"):
        read_manifest(root)


@pytest.mark.parametrize("text", ["", "- a list\n- of things\n", "just a string\n"])
def test_manifest_that_is_not_a_mapping(tmp_path, text):
    with pytest.raises(BundleError, match="must be a mapping"):
        read_manifest(write_manifest(tmp_path / "b", text))


def test_manifest_that_is_not_utf8(tmp_path):
    root = tmp_path / "b"
    root.mkdir()
    (root / "submission.yaml").write_bytes("format: 1\nsubmission_id: \u00e9\u2019\n".encode("utf-16"))
    with pytest.raises(BundleError, match="not UTF-8"):
        read_manifest(root)


# ---------------------------------------------------------------- manifest: issues

ARTIFACTS = """\
format: 1
submission_id: S-1
credential: c
parts:
  overview: overview.md
artifacts:
  - id: A1
    file: a.pdf
  - id: A2
    title: no file given
  - id: A3
    file: c.pdf
    pages: 4
  - id: A1
    file: d.pdf
  - id: overview
    file: e.pdf
  - id: A6
    file: ../x.pdf
  - id: A7
    file: f.pdf
self_analysis:
  - detail: EO1.1
    explanation: first
  - evidence: []
  - detail: EO1.1
    explanation: second
"""


@pytest.fixture
def issues_manifest(tmp_path):
    return read_manifest(write_manifest(tmp_path / "b", ARTIFACTS))


def issue_at(manifest, location):
    return next(i for i in manifest.issues if i.location == location)


def test_bad_entries_are_issues_and_the_rest_is_kept(issues_manifest):
    assert [a.id for a in issues_manifest.artifacts] == ["A1", "A7"]
    assert [e.explanation for e in issues_manifest.self_analysis] == ["first", "second"]  # same detail twice: kept


def test_missing_artifact_file_is_an_issue_with_location_and_line(issues_manifest):
    issue = issue_at(issues_manifest, "artifacts[1].file")
    assert (issue.line, "Field required" in issue.message) == (9, True)


def test_unknown_key_is_an_issue(issues_manifest):
    issue = issue_at(issues_manifest, "artifacts[2].pages")
    assert (issue.line, "Extra inputs are not permitted" in issue.message) == (13, True)


def test_duplicate_artifact_id_and_part_id_are_issues(issues_manifest):
    assert "another artifact" in issue_at(issues_manifest, "artifacts[3].id").message
    assert issue_at(issues_manifest, "artifacts[3].id").line == 14
    assert "a part" in issue_at(issues_manifest, "artifacts[4].id").message


def test_artifact_path_leaving_the_root_is_an_issue(issues_manifest):
    issue = issue_at(issues_manifest, "artifacts[5].file")
    assert (issue.line, "stay inside" in issue.message) == (19, True)


def test_bad_self_analysis_entry_is_an_issue(issues_manifest):
    issue = issue_at(issues_manifest, "self_analysis[1].detail")
    assert (issue.line, "Field required" in issue.message) == (25, True)
    assert len(issues_manifest.issues) == 6


def test_part_path_leaving_the_root_is_an_issue(tmp_path):
    root = write_bundle(tmp_path / "b", manifest(parts={"overview": "/etc/passwd", "reflection": "r.md"}), {})
    read = read_manifest(root)
    assert read.parts == {"reflection": "r.md"}
    assert [i.location for i in read.issues] == ["parts.overview"]


@pytest.mark.parametrize("link", ["artifacts/audit.pdf", "artifacts"])
def test_symlink_escaping_a_folder_bundle_is_an_issue(tmp_path, link):
    outside = write_bundle(tmp_path / "outside", {}, {"artifacts/audit.pdf": b"%PDF-"})
    root = write_bundle(tmp_path / "b", manifest(), {"overview.md": "x", "artifacts/night.vtt": "WEBVTT\n"})
    (root / link).parent.mkdir(parents=True, exist_ok=True)
    if (root / link).exists():
        (root / link).rename(root / "moved")
    (root / link).symlink_to(outside / link)
    read = read_manifest(root)
    assert "goes through a link" in issue_at(read, "artifacts[0].file").message
    assert [a.id for a in read.artifacts] == (["A2"] if link == "artifacts/audit.pdf" else [])
