"""Earners' drafts on a real database migrated the way the review database is (review.db.upgrade, so migration
0003 runs): saved and resumed with their uploads, listed per owner, and never opened by another earner."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from prescreen.bundle import read_manifest
from prescreen.earner.assemble import ArtifactDraft, Draft, PartDraft
from prescreen.earner.errors import DraftNotFound, NotAllowed, UploadError
from prescreen.earner.store import DraftStore
from prescreen.review.db import MIGRATIONS, make_engine, session_factory, upgrade
from prescreen.settings import LimitSettings
from tests.factories import make_pdf
from tests.test_review_db import _head_revision

CREDENTIAL = "leading-an-equitable-learning-culture"


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine) -> DraftStore:
    return DraftStore(session_factory(engine), LimitSettings(max_zip_total_mb=0.05))


@pytest.fixture
def audit_pdf(tmp_path) -> Path:
    return make_pdf(tmp_path / "upload-1", ["Attendance by subgroup, presented to all staff on September 10."])


def a_draft(**changes) -> Draft:
    return Draft(**({"credential": CREDENTIAL,
                     "parts": {"overview": PartDraft(text="Our equity work began with data.")},
                     "artifacts": [ArtifactDraft(id="A1", title="Equity audit", upload="audit.pdf")]} | changes))


def test_the_migration_makes_the_tables(engine):
    tables = set(inspect(engine).get_table_names())
    assert {"earner_drafts", "earner_files", "submissions", "users"} <= tables
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == _head_revision()
    columns = {c["name"] for c in inspect(engine).get_columns("earner_drafts")}
    assert {"owner", "credential", "attempt", "status", "draft_json", "created_at", "updated_at"} <= columns


def test_the_migration_goes_down_and_up_again(engine):
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    assert "earner_drafts" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert "earner_files" in inspect(engine).get_table_names()


def test_a_draft_is_resumed_with_its_uploads(store, audit_pdf, tmp_path):
    saved = store.save_draft("jo", a_draft(), {"audit.pdf": audit_pdf})
    assert saved.status == "draft" and saved.owner == "jo" and [u.name for u in saved.uploads] == ["audit.pdf"]
    resumed = store.load_draft("jo", saved.id)
    assert resumed.draft == a_draft() and resumed.uploads[0].size == audit_pdf.stat().st_size
    files = store.export_uploads("jo", saved.id, tmp_path / "out")
    assert files["audit.pdf"].read_bytes() == audit_pdf.read_bytes()
    bundle = store.assemble("jo", saved.id, tmp_path / "bundle")
    assert [a.file for a in read_manifest(bundle).artifacts] == ["artifacts/audit.pdf"]


def test_saving_again_updates_and_drops_files_no_longer_used(store, audit_pdf):
    first = store.save_draft("jo", a_draft(), {"audit.pdf": audit_pdf})
    again = store.save_draft("jo", a_draft(artifacts=[], attempt=1), draft_id=first.id)
    assert again.id == first.id and again.uploads == [] and again.draft.artifacts == []
    assert [d.id for d in store.list_drafts("jo")] == [first.id]


def test_an_earner_sees_only_their_own_drafts(store, audit_pdf, tmp_path):
    mine = store.save_draft("jo", a_draft(), {"audit.pdf": audit_pdf})
    theirs = store.save_draft("sam", a_draft(credential="el-education-leadership-core-practices"))
    assert [d.id for d in store.list_drafts("jo")] == [mine.id]
    assert [d.credential for d in store.list_drafts("sam")] == ["el-education-leadership-core-practices"]
    assert store.list_drafts("ana") == []
    for attempt in (lambda: store.load_draft("sam", mine.id),
                    lambda: store.save_draft("sam", a_draft(), draft_id=mine.id),
                    lambda: store.export_uploads("sam", mine.id, tmp_path / "stolen"),
                    lambda: store.assemble("sam", mine.id, tmp_path / "stolen-bundle"),
                    lambda: store.mark_submitted("sam", mine.id, "S-1"),
                    lambda: store.save_draft("sam", a_draft(attempt=2), previous_id=mine.id)):
        with pytest.raises(NotAllowed, match="not yours"):
            attempt()
    assert store.load_draft("jo", mine.id).draft == a_draft()
    assert not (tmp_path / "stolen").exists() or not any((tmp_path / "stolen").iterdir())
    assert [d.id for d in store.list_drafts("sam")] == [theirs.id]
    with pytest.raises(DraftNotFound):
        store.load_draft("jo", 9999)


def test_a_submitted_draft_is_read_only_and_a_new_attempt_links_to_it(store, audit_pdf):
    first = store.save_draft("jo", a_draft(), {"audit.pdf": audit_pdf})
    submitted = store.mark_submitted("jo", first.id, "S-2026-0042")
    assert submitted.status == "submitted" and submitted.submitted_at is not None
    with pytest.raises(NotAllowed, match="start a new attempt"):
        store.save_draft("jo", a_draft(), draft_id=first.id)
    second = store.save_draft("jo", a_draft(attempt=2), previous_id=first.id)
    assert second.previous_id == first.id and second.attempt == 2
    assert [(d.attempt, d.status) for d in store.list_drafts("jo")] == [(1, "submitted"), (2, "draft")]


def test_a_failed_upload_saves_nothing(store, audit_pdf, tmp_path):
    clip = tmp_path / "clip"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    with pytest.raises(UploadError, match="clip.mp4: .mp4 files are not supported"):
        store.save_draft("jo", a_draft(), {"audit.pdf": audit_pdf, "clip.mp4": clip})
    big = tmp_path / "big"
    big.write_text("Attendance data by subgroup. " * 2000)  # 58 KB: past the store's 0.05 MB for a whole submission
    with pytest.raises(UploadError, match="a whole submission may hold"):
        store.save_draft("jo", a_draft(), {"audit.pdf": audit_pdf, "notes.md": big})
    assert store.list_drafts("jo") == []


def test_a_new_attempt_is_prefilled_from_the_last_with_details_to_revisit(store, audit_pdf):
    first = store.save_draft("jo", a_draft(submission_id="S-2026-0042"), {"audit.pdf": audit_pdf})
    with pytest.raises(NotAllowed, match="not submitted yet"):
        store.new_attempt("jo", first.id)
    store.mark_submitted("jo", first.id, "S-2026-0042")
    second = store.new_attempt("jo", first.id, revisit=["EO2.3", "EO1.1", "EO2.3"], max_attempts=2)
    assert (second.attempt, second.status, second.previous_id) == (2, "draft", first.id)
    assert second.draft.revisit == ["EO2.3", "EO1.1"] and second.draft.submission_id == "S-2026-0042"
    assert second.draft.model_copy(update={"attempt": 1, "revisit": []}) == store.load_draft("jo", first.id).draft
    assert [u.sha256 for u in second.uploads] == [u.sha256 for u in first.uploads]
    store.mark_submitted("jo", second.id, "S-2026-0042")
    with pytest.raises(NotAllowed, match="attempt 2 was the last of the 2"):
        store.new_attempt("jo", second.id, max_attempts=2)
    with pytest.raises(NotAllowed, match="not yours"):
        store.new_attempt("sam", first.id)
