"""Resource budgets: files, characters and pages per file and per submission; a time and memory limit per file's
extraction that really stops it; a .docx read through for its real size; manifest fields capped."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from prescreen import pipeline
from prescreen.bundle import check_package, read_manifest
from prescreen.errors import ExtractionError, UnsafeArchiveError
from prescreen.pipeline import Screener
from prescreen.sandbox import run_in_worker
from prescreen.settings import LimitSettings, Settings
from tests.factories import make_docx, make_pdf, write_bundle
from tests.fakes import StemHashEmbeddings

MIB = 1024 * 1024
TEXT = "In October 2025 our staff examined attendance data by subgroup with every family. "
BASE = {"format": 1, "submission_id": "S-BIG", "credential": "leading-an-equitable-learning-culture",
        "parts": {"overview": "overview.md", "reflection": "reflection.md"}}


def screen(tmp_path: Path, artifacts: dict[str, str | bytes], part: str = TEXT, **limits):
    """Screen a bundle of Markdown/PDF artifacts (A1, A2 ... in order), parts of text `part`, under the limits."""
    entries = [{"id": f"A{i}", "file": f"artifacts/{name}"} for i, name in enumerate(artifacts, 1)]
    files = {f"artifacts/{name}": content for name, content in artifacts.items()}
    files |= {"overview.md": part, "reflection.md": part}
    bundle = write_bundle(tmp_path / "bundle", BASE | {"artifacts": entries}, files)
    settings = Settings(data_dir=tmp_path / "data", limits=LimitSettings(**limits))
    return Screener(settings, embedder=StemHashEmbeddings()).screen(bundle).report


def too_large(report) -> dict[str, str]:
    return {p.file: p.message for p in report.problems if p.kind == "too_large"}


# ---------------------------------------------------------------- files, characters, pages


def test_many_artifacts_naming_one_file_are_read_once(tmp_path, monkeypatch):
    calls = []
    real = pipeline.extract_in_worker
    monkeypatch.setattr(pipeline, "extract_in_worker", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    pdf = make_pdf(tmp_path / "one.pdf", [TEXT, TEXT])
    entries = [{"id": f"A{i}", "file": "artifacts/one.pdf"} for i in range(1, 201)]
    bundle = write_bundle(tmp_path / "b", BASE | {"artifacts": entries},
                          {"artifacts/one.pdf": pdf.read_bytes(), "overview.md": TEXT, "reflection.md": TEXT})
    settings = Settings(data_dir=tmp_path / "data", limits=LimitSettings(max_artifacts=250))
    Screener(settings, embedder=StemHashEmbeddings()).screen(bundle)
    assert calls.count("artifacts/one.pdf") == 1


def test_many_artifacts_naming_one_broken_file_read_it_once(tmp_path, monkeypatch):
    calls = []
    real = pipeline.extract_in_worker
    monkeypatch.setattr(pipeline, "extract_in_worker", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    entries = [{"id": f"A{i}", "file": "artifacts/broken.pdf"} for i in range(1, 6)]
    bundle = write_bundle(tmp_path / "b", BASE | {"artifacts": entries},
                          {"artifacts/broken.pdf": b"%PDF-1.7 damaged", "overview.md": TEXT, "reflection.md": TEXT})
    report = Screener(Settings(data_dir=tmp_path / "data"), embedder=StemHashEmbeddings()).screen(bundle).report
    assert calls.count("artifacts/broken.pdf") == 1
    assert [p.kind for p in report.problems if p.file == "artifacts/broken.pdf"] == ["unreadable"] * 5


def test_artifacts_past_the_submission_budget_are_too_large(tmp_path):
    report = screen(tmp_path, {f"{i}.md": TEXT for i in range(1, 6)}, max_artifacts=4)
    assert list(too_large(report)) == ["artifacts/5.md"]  # the parts are never counted against it
    assert "limit of 4 artifacts" in too_large(report)["artifacts/5.md"]


def test_a_file_with_too_many_characters_is_too_large_and_the_rest_is_screened(tmp_path):
    report = screen(tmp_path, {"big.md": TEXT * 200, "small.md": TEXT}, max_file_chars=5000)
    assert list(too_large(report)) == ["artifacts/big.md"]
    message = too_large(report)["artifacts/big.md"]
    assert "characters" in message and "split the file" in message
    assert report.readiness == "not_ready"


def test_characters_past_the_submission_budget_are_too_large(tmp_path):
    report = screen(tmp_path, {f"{i}.md": TEXT * 20 for i in range(1, 5)}, max_total_chars=4000)
    assert "artifacts/4.md" in too_large(report)
    assert "submission's artifacts hold" in too_large(report)["artifacts/4.md"]


def test_parts_are_never_crowded_out_by_artifacts(tmp_path):
    report = screen(tmp_path, {f"{i}.md": TEXT * 20 for i in range(1, 5)}, max_total_chars=2000)
    assert {p for p in too_large(report)} == {"artifacts/2.md", "artifacts/3.md", "artifacts/4.md"}
    assert all(p.word_count > 0 for p in report.parts)


def test_a_part_past_its_cap_is_too_large(tmp_path):
    report = screen(tmp_path, {"a.md": TEXT}, part=TEXT * 20, max_part_chars=1000)
    assert set(too_large(report)) == {"overview.md", "reflection.md"}


def test_a_pdf_with_too_many_pages_is_too_large(tmp_path):
    pdf = make_pdf(tmp_path / "long.pdf", [TEXT] * 4)
    report = screen(tmp_path, {"long.pdf": pdf.read_bytes()}, max_file_pages=3)
    assert "4 pages" in too_large(report)["artifacts/long.pdf"]


# ---------------------------------------------------------------- a worker that really stops


def sleep_forever() -> str:
    time.sleep(3600)
    return "never"


def allocate_too_much() -> str:
    return str(len(bytearray(64 * 1024 * MIB)))


def crash() -> str:
    os._exit(3)


def refuse() -> str:
    raise ExtractionError("unsupported_type", "not a kind of file prescreen reads")


def worker_pids() -> set[int]:
    import multiprocessing

    return {p.pid for p in multiprocessing.active_children()}


def test_extraction_past_its_time_limit_is_stopped_and_too_large():
    with pytest.raises(ExtractionError, match="took longer than the limit") as info:
        run_in_worker(sleep_forever, (), timeout_s=0.5, memory_mb=1024)
    assert info.value.kind == "too_large"
    assert worker_pids() == set()  # the worker was killed, not left running


def test_extraction_past_its_memory_limit_is_too_large():
    with pytest.raises(ExtractionError, match="MB of memory") as info:
        run_in_worker(allocate_too_much, (), timeout_s=60, memory_mb=1024)
    assert info.value.kind == "too_large"


def whoami() -> str:
    import os

    return str(os.getpid())


def test_the_worker_is_kept_for_the_next_file_and_replaced_once_killed():
    """Starting a worker costs more than reading most files: one serves a whole screen until it must be killed."""
    first = run_in_worker(whoami, (), timeout_s=60, memory_mb=1024)
    assert run_in_worker(whoami, (), timeout_s=60, memory_mb=1024) == first
    with pytest.raises(ExtractionError):
        run_in_worker(sleep_forever, (), timeout_s=0.5, memory_mb=1024)
    assert run_in_worker(whoami, (), timeout_s=60, memory_mb=1024) not in ("", first)


def test_a_worker_that_dies_or_refuses_is_reported():
    with pytest.raises(ExtractionError) as died:
        run_in_worker(crash, (), timeout_s=60, memory_mb=1024)
    assert died.value.kind == "unreadable"
    with pytest.raises(ExtractionError, match="not a kind of file") as refused:
        run_in_worker(refuse, (), timeout_s=60, memory_mb=1024)
    assert refused.value.kind == "unsupported_type"


# ---------------------------------------------------------------- a .docx read through for its real size


def docx_bomb(path: Path) -> Path:
    """An ordinary Word file plus one part that unpacks from a few KB to 40 MB."""
    docx = make_docx(path.with_suffix(".ok.docx"), [("h1", "Plan"), ("p", TEXT)])
    with zipfile.ZipFile(docx) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            out.writestr(info, source.read(info))
        out.writestr("word/padding.xml", b"<w:t>" + b" " * (40 * MIB) + b"</w:t>")
    return path


def test_a_docx_is_read_through_for_its_real_size(tmp_path):
    check_package(make_docx(tmp_path / "ok.docx", [("h1", "Plan"), ("p", TEXT)]), LimitSettings())  # it passes
    bomb = docx_bomb(tmp_path / "bomb.docx")
    with pytest.raises(UnsafeArchiveError, match="expands more than"):
        check_package(bomb, LimitSettings())
    with pytest.raises(UnsafeArchiveError, match="more than the limit of 5 MB"):
        check_package(bomb, LimitSettings(max_zip_ratio=10_000, max_zip_total_mb=5))


def test_a_docx_bomb_in_a_bundle_is_too_large(tmp_path):
    report = screen(tmp_path, {"plan.docx": docx_bomb(tmp_path / "bomb.docx").read_bytes(), "notes.md": TEXT})
    assert list(too_large(report)) == ["artifacts/plan.docx"]
    assert "once unpacked" in too_large(report)["artifacts/plan.docx"]


# ---------------------------------------------------------------- manifest fields


def test_manifest_fields_are_capped_with_an_issue(tmp_path):
    manifest = BASE | {"earner": {"name": "N" * 900_000, "email": "a@example.org"},
                       "artifacts": [{"id": "A1", "file": "a.md", "title": "T" * 5000}]}
    (tmp_path / "submission.yaml").write_text(yaml.safe_dump(manifest))
    (tmp_path / "a.md").write_text(TEXT)
    read = read_manifest(tmp_path)
    assert len(read.earner.name) == 200 and len(read.artifacts[0].title) == 300
    assert {i.location for i in read.issues} == {"earner.name", "artifacts[0].title"}
    assert all("only the first" in i.message for i in read.issues)


def test_manifest_caps_do_not_walk_yaml_aliases_again(tmp_path):
    text = "format: 1\nsubmission_id: S\ncredential: c\nx: &a [" + ", ".join(["v"] * 50) + "]\n"
    for i in range(12):  # each level repeats the one before ten times: 50 * 10**12 strings if walked naively
        text += f"y{i}: &y{i} [" + ", ".join([f"*{'a' if i == 0 else f'y{i - 1}'}"] * 10) + "]\n"
    (tmp_path / "submission.yaml").write_text(text)
    from prescreen.bundle import _cap_fields
    from prescreen.yamlfile import parse_yaml

    assert _cap_fields(parse_yaml(text, "submission.yaml")) == []
