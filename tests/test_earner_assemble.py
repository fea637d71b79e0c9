"""Bundles assembled from a draft: the same shape as a hand-made bundle, screened the same, and the upload guards
of the zip path, with nothing half-written when one fails."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from prescreen.bundle import open_bundle, read_manifest
from prescreen.earner.assemble import ArtifactDraft, Draft, PartDraft, assemble, draft_from_bundle, to_zip
from prescreen.earner.errors import EarnerError, UploadError
from prescreen.models import EvidenceRef, SelfAnalysisEntry
from prescreen.pipeline import Screener
from prescreen.settings import LimitSettings, Settings
from tests.factories import make_docx, make_pdf, make_vtt, write_bundle
from tests.fakes import StemHashEmbeddings

ROOT = Path(__file__).resolve().parents[1]
LINCOLN = ROOT / "examples" / "lincoln-elementary"
CREDENTIAL = "leading-an-equitable-learning-culture"
OVERVIEW = "# Q1 Defining equity\n\nEquity means no student's race or income predicts results. " * 40
REFLECTION = "I learned to use data with staff every month and to ask students what they need. " * 10
EXPLAIN = "The page shows the attendance data by subgroup I presented to all staff in September."


@pytest.fixture(scope="module")
def screener(tmp_path_factory) -> Screener:
    return Screener(Settings(data_dir=tmp_path_factory.mktemp("data")), embedder=StemHashEmbeddings())


def same_screen(screener: Screener, first: Path, second: Path) -> None:
    a, b = (screener.screen(path).report for path in (first, second))
    assert a.readiness != "unscreenable" and b.readiness != "unscreenable"
    assert ([(p.part_id, p.word_count, p.shortfall) for p in a.parts]
            == [(p.part_id, p.word_count, p.shortfall) for p in b.parts])
    assert [(f.detail_id, f.status) for f in a.details] == [(f.detail_id, f.status) for f in b.details]
    assert a.self_analysis_issues == b.self_analysis_issues
    assert a.problems == b.problems and a.manifest_issues == b.manifest_issues
    assert a.model_dump() == b.model_dump()  # findings, citations and all


def uploads(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "Attendance data.pdf": make_pdf(folder / "a.pdf", ["Attendance by subgroup, presented to all staff.", "Plan."]),
        "plan.docx": make_docx(folder / "b.docx",
                               [("h1", "Advisory"), ("p", "Every student meets an adult mentor weekly.")]),
        "night.vtt": make_vtt(folder / "c.vtt", [(0, 30, "Families met with interpreters in three languages.")]),
    }


def small_draft(**changes) -> Draft:
    fields = dict(
        credential=CREDENTIAL, submission_id="S-TEST-1", earner={"name": "Jo Rivera", "email": "jo@example.org"},
        parts={"overview": PartDraft(text=OVERVIEW), "reflection": PartDraft(text=REFLECTION)},
        artifacts=[ArtifactDraft(id="A1", title="Attendance data", upload="Attendance data.pdf"),
                   ArtifactDraft(id="A2", title="Advisory plan", upload="plan.docx"),
                   ArtifactDraft(id="A3", title="Family night", upload="night.vtt")],
        self_analysis=[SelfAnalysisEntry(detail="EO1.2", evidence=[EvidenceRef(artifact="A1", locator="p. 1")],
                                         explanation=EXPLAIN),
                       SelfAnalysisEntry(detail="EO2.1", evidence=[EvidenceRef(artifact="A2", locator="§ Advisory")],
                                         explanation="Every student has an adult mentor they meet weekly.")],
    )
    return Draft(**(fields | changes))


def test_a_hand_made_bundle_rebuilt_from_its_draft_screens_the_same(screener, tmp_path):
    draft, files = draft_from_bundle(LINCOLN)
    built = assemble(draft, files, tmp_path / "built")
    assert sorted(p.relative_to(built).as_posix() for p in built.rglob("*")) == sorted(
        p.relative_to(LINCOLN).as_posix() for p in LINCOLN.rglob("*"))
    assert read_manifest(built) == read_manifest(LINCOLN)
    same_screen(screener, LINCOLN, built)


def test_parts_written_in_the_box_screen_like_part_files(screener, tmp_path):
    files = uploads(tmp_path / "uploads")
    built = assemble(small_draft(), files, tmp_path / "built")
    manifest = yaml.safe_load((built / "submission.yaml").read_text())
    assert manifest["format"] == 1 and manifest["parts"] == {"overview": "overview.md", "reflection": "reflection.md"}
    assert [a["file"] for a in manifest["artifacts"]] == [
        "artifacts/Attendance-data.pdf", "artifacts/plan.docx", "artifacts/night.vtt"]
    by_hand = write_bundle(tmp_path / "by-hand", manifest, {
        "overview.md": OVERVIEW, "reflection.md": REFLECTION,
        **{f"artifacts/{name}": path.read_bytes() for name, path in
           zip(("Attendance-data.pdf", "plan.docx", "night.vtt"), files.values(), strict=True)}})
    same_screen(screener, by_hand, built)


def test_the_zip_opens_as_the_same_bundle(tmp_path):
    built = assemble(small_draft(), uploads(tmp_path / "uploads"), tmp_path / "built")
    archive = to_zip(built, tmp_path / "bundle.zip")
    with open_bundle(archive, tmp_path / "work", LimitSettings()) as opened:
        assert opened.manifest == read_manifest(built)
        plan = Path("artifacts", "plan.docx")
        assert (opened.root / plan).read_bytes() == (built / plan).read_bytes()


def test_names_stay_inside_the_bundle_and_never_collide(tmp_path):
    files = uploads(tmp_path / "uploads")
    files = {"../../etc/passwd.pdf": files["Attendance data.pdf"], "C:\\docs\\passwd.pdf": files["Attendance data.pdf"],
             "plan.docx": files["plan.docx"]}
    draft = small_draft(artifacts=[ArtifactDraft(id="A1", upload="../../etc/passwd.pdf"),
                                   ArtifactDraft(id="A2", upload="C:\\docs\\passwd.pdf"),
                                   ArtifactDraft(id="A3", upload="plan.docx"),
                                   ArtifactDraft(id="A4", upload="plan.docx")])
    built = assemble(draft, files, tmp_path / "built")
    assert [a.file for a in read_manifest(built).artifacts] == [
        "artifacts/passwd.pdf", "artifacts/passwd-2.pdf", "artifacts/plan.docx", "artifacts/plan.docx"]


def nothing_written(tmp_path: Path) -> bool:
    return [p.name for p in tmp_path.iterdir()] == ["uploads"]


@pytest.mark.parametrize(("change", "limits", "said"), [
    ({"artifacts": [ArtifactDraft(id="A1", upload="clip.mp4")]}, {}, "upload a transcript (.vtt or .srt)"),
    ({"artifacts": [ArtifactDraft(id="A1", upload="missing.pdf")]}, {}, "missing.pdf was not uploaded"),
    ({"parts": {"overview": PartDraft(upload="night.vtt")}}, {}, "a part must be a .md, .txt, .docx, .pdf file"),
    ({}, {"max_artifacts": 2}, "more than the limit of 2 artifacts"),
    ({}, {"max_file_mb": 0.001}, "more than the limit of 1.0 KB"),
    ({}, {"max_zip_total_mb": 0.002}, "a whole submission may hold"),
    ({"artifacts": [ArtifactDraft(id="A1", upload="empty.md")]}, {}, "the file is empty"),
])
def test_an_upload_that_fails_a_guard_leaves_nothing_written(tmp_path, change, limits, said):
    files = uploads(tmp_path / "uploads")
    files["clip.mp4"] = files["night.vtt"].with_name("clip.mp4")
    files["clip.mp4"].write_bytes(b"\x00\x00\x00\x18ftypmp42")
    (empty := tmp_path / "uploads" / "empty.md").write_text("")
    files["empty.md"] = empty
    with pytest.raises(UploadError) as caught:
        assemble(small_draft(**change), files, tmp_path / "built", LimitSettings(**limits))
    assert said in str(caught.value)
    assert nothing_written(tmp_path)


def test_an_existing_folder_is_never_overwritten(tmp_path):
    (tmp_path / "built").mkdir()
    (tmp_path / "built" / "keep.txt").write_text("mine")
    with pytest.raises(EarnerError, match="exists already"):
        assemble(small_draft(), uploads(tmp_path / "uploads"), tmp_path / "built")
    assert (tmp_path / "built" / "keep.txt").read_text() == "mine"


def test_a_draft_is_checked_as_it_is_made():
    with pytest.raises(ValidationError, match="not both"):
        PartDraft(text="words", upload="overview.docx")
    with pytest.raises(ValidationError, match="Extra inputs"):
        Draft(credential=CREDENTIAL, grade="A")
    assert small_draft().uploads() == ["Attendance data.pdf", "plan.docx", "night.vtt"]


def test_places_picked_for_every_detail_screen_without_locator_issues(screener, tmp_path):
    """What a picker writes, through assemble and the whole screen: every pointer is followed, none is broken."""
    from prescreen.earner.places import read_places
    from prescreen.rubrics import RubricLibrary

    files = uploads(tmp_path / "uploads")
    draft = small_draft()
    picked = []
    for artifact in draft.artifacts:
        path = files[artifact.upload]
        found = read_places(path.parent, path.name, artifact.id, LimitSettings())
        picked += [EvidenceRef(artifact=artifact.id, locator=place.locator) for place in found.places]
    details = RubricLibrary().get(CREDENTIAL).details
    entries = [SelfAnalysisEntry(detail=d.id, evidence=[picked[i % len(picked)]], explanation=EXPLAIN)
               for i, d in enumerate(details)]
    report = screener.screen(assemble(small_draft(self_analysis=entries), files, tmp_path / "built")).report
    assert len(picked) >= 5 and {e.evidence[0].locator for e in entries} >= {"p. 1", "p. 2", "§ Advisory", "para. 2"}
    assert [i for i in report.self_analysis_issues
            if i.kind.startswith("locator") or i.kind in ("no_entry", "unknown_artifact")] == []
