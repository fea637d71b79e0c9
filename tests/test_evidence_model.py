"""The learned evidence model: inference matches scikit-learn, weights round-trip, training learns from
labelled rows and from assessors' decisions in the review database."""

from __future__ import annotations

import json

import numpy as np
import pytest

from prescreen.evidence_model import (
    SENTENCE_FEATURES,
    STATUS_FEATURES,
    EvidenceModel,
    ScoredSentence,
    SentenceInput,
    sentence_features,
    status_features,
)
from prescreen.rubrics import RubricLibrary
from prescreen.settings import Settings
from prescreen.train import DetailRows, _fit_linear, fit, label_files, reviewed_runs, rows_from_reviews

RUBRIC = RubricLibrary().get("leading-an-equitable-learning-culture")
DETAIL = {d.id: d for d in RUBRIC.details}


def test_linear_inference_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)) * [1, 5, 0.2] + [0, 3, 1]
    y = np.where(x[:, 0] + (x[:, 2] - 1) * 4 > 0.8, "weak", np.where(x[:, 1] > 3, "evidenced", "missing"))
    model = _fit_linear(x, y, ["a", "b", "c"], 1.0, ["evidenced", "weak", "missing"])
    scaler = StandardScaler().fit(x)
    reference = LogisticRegression(C=1.0, max_iter=3000).fit(scaler.transform(x), y)
    columns = [list(reference.classes_).index(k) for k in model.classes]
    expected = reference.predict_proba(scaler.transform(x))[:, columns]
    assert np.allclose(model.proba(x.tolist()), expected, atol=1e-4)
    binary = _fit_linear(x, (x[:, 0] > 0).astype(int), ["a", "b", "c"], 1.0, ["other", "evidence"], balanced=True)
    assert np.mean((binary.proba(x.tolist())[:, 1] > 0.5) == (x[:, 0] > 0)) > 0.95


def test_weights_round_trip_and_the_data_directory_model_wins(tmp_path):
    shipped = EvidenceModel.load()
    assert shipped.sentence.features == list(SENTENCE_FEATURES) and shipped.status.features == list(STATUS_FEATURES)
    assert EvidenceModel.for_settings(Settings(data_dir=tmp_path)) == shipped
    retrained = shipped.model_copy(update={"trained_on": {"bundles": 99}})
    retrained.save(tmp_path / "evidence_model.json")
    assert EvidenceModel.for_settings(Settings(data_dir=tmp_path)).trained_on == {"bundles": 99}
    saved = json.loads((tmp_path / "evidence_model.json").read_text())
    assert saved["status"]["classes"] == ["evidenced", "weak", "missing"]


def test_sentence_features_see_look_fors_markers_and_tables():
    detail = DETAIL["EO2.1"]
    done = sentence_features(detail, SentenceInput(
        text="Every student was matched with a mentor for weekly check-ins in advisory.", role="artifact", kind="pdf"))
    plan = sentence_features(detail, SentenceInput(
        text="Next year we will start advisory.", role="artifact", kind="pdf"))
    row = sentence_features(detail, SentenceInput(text="Advisory | 412 students | weekly", role="part", kind="docx",
                                                  table=True))
    names = list(SENTENCE_FEATURES)
    assert done[names.index("look_for_whole")] > plan[names.index("look_for_whole")]
    assert (done[names.index("passive")], plan[names.index("plan")]) == (1.0, 1.0)
    assert row[names.index("table")] == 1.0 and row[names.index("artifact")] == 0.0


def rows_for(status: str, group: str, strength: float) -> DetailRows:
    """A detail whose best artifact sentence is at the labelled place exactly when it is evidenced."""
    detail = DETAIL["EO1.3"]
    hit = SentenceInput(text="Staff attended four professional learning sessions on implicit bias in 2025.",
                        role="artifact", kind="pdf", similarity=strength, lexical=strength)
    noise = SentenceInput(text="The cafeteria menu changed in spring.", role="artifact", kind="pdf", similarity=0.1)
    inputs = [hit, noise] if status != "missing" else [noise]
    return DetailRows(
        group=group, detail=detail, status=status, best_similarity=strength,
        features=[sentence_features(detail, s) for s in inputs],
        at_evidence=[status == "evidenced" and s is hit for s in inputs],
        markers=[ScoredSentence(score=0.0, role=s.role, plan=False, negated=False, past=True) for s in inputs],
    )


def test_fit_learns_from_labelled_rows_with_grouped_cross_validation():
    rows = [rows_for(status, f"bundle-{i}", strength)
            for i in range(6) for status, strength in (("evidenced", 0.8), ("weak", 0.5), ("missing", 0.1))]
    model = fit(rows)
    assert model.trained_on["bundles"] == 6 and model.trained_on["cv_folds"] == 5
    assert model.trained_on["cv_status_accuracy"] > 0.6
    weights = dict(model.sentence.weights_table())
    assert weights["similarity"][0] > 0  # the labelled sentences are the similar ones
    evidenced = rows_for("evidenced", "x", 0.8)
    scores = model.sentence.proba(evidenced.features)[:, 1]
    assert scores[0] > scores[1]


def test_label_files_reads_folders_and_files(tmp_path):
    (tmp_path / "a.labels.yaml").write_text("bundle: x\n")
    (tmp_path / "notes.yaml").write_text("{}\n")
    assert label_files([tmp_path]) == [tmp_path / "a.labels.yaml"]


def test_status_features_tell_narrative_only_from_artifact_evidence():
    detail = DETAIL["EO2.1"]
    artifact = [ScoredSentence(score=0.9, role="artifact", plan=False, negated=False, past=True, at_pointer=True)]
    narrative = [ScoredSentence(score=0.9, role="part", plan=False, negated=False, past=True)]
    names = list(STATUS_FEATURES)
    a, n = status_features(detail, artifact, 0.7), status_features(detail, narrative, 0.7)
    assert a[names.index("best_artifact")] == 0.9 and n[names.index("best_artifact")] == 0.0
    assert n[names.index("part_over_artifact")] == 0.9 and a[names.index("best_at_pointer")] == 0.9


def test_status_features_see_how_much_of_the_detail_the_evidence_covers():
    """EO2.2 asks for student voice gathered (surveys, focus groups) and acted on: a survey alone covers
    less of it than a survey, focus groups and a change made; a plan covers nothing."""
    from prescreen.drafting import Sentence
    from prescreen.report import Citation

    def scored(text: str, score: float = 0.9) -> ScoredSentence:
        citation = Citation(artifact_id="A1", page=1, quote=text)
        sentence = Sentence(citation=citation, input=SentenceInput(text=text, role="artifact", kind="pdf"), score=score)
        return sentence.scored()

    detail, names = DETAIL["EO2.2"], list(STATUS_FEATURES)
    survey = [scored("Students took the belonging survey in October.")]
    whole = survey + [scored("Focus groups told us lunch felt unsafe; we changed the lunch schedule.")]
    planned = [scored("We will run a belonging survey and focus groups next year.")]
    covered = [status_features(detail, s, 0.7)[names.index("artifact_look_fors_covered")] for s in (survey, whole)]
    assert 0 < covered[0] < covered[1]
    assert status_features(detail, planned, 0.7)[names.index("artifact_look_fors_covered")] == 0.0
    low = [scored("Focus groups told us lunch felt unsafe; we changed the lunch schedule.", score=0.2)]
    assert status_features(detail, low, 0.7)[names.index("artifact_look_fors_covered")] == 0.0


def test_assessors_decisions_become_status_rows(kit, db_url, tmp_path):
    """Confirmed findings keep the drafted status, overridden ones take the assessor's; unsubmitted work waits."""
    from prescreen.index import EvidenceIndex, make_client
    from prescreen.pipeline import Screener
    from tests.fakes import StemHashEmbeddings

    submission = kit.in_review()
    kit.complete("ana", submission, submit=False)
    kit.service.decide("ana", submission, "EO1.2", "override", "evidenced", "The data table on p. 2 shows it.")
    kit.service.submit("ana", submission, "earned")
    kit.complete("ben", submission, submit=False)
    settings = Settings(data_dir=tmp_path, database_url=db_url)
    reviewed = reviewed_runs(settings)
    assert len(reviewed) == 1
    assert sorted(reviewed[0].statuses) == [("EO1.1", "evidenced"), ("EO1.2", "evidenced"), ("EO2.1", "evidenced")]
    embedder = StemHashEmbeddings()
    screener = Screener(settings, embedder=embedder, index=EvidenceIndex(make_client(settings), "chunks-t", embedder))
    rows = rows_from_reviews(screener, reviewed)
    assert sorted((r.detail.id, r.status, r.places_known) for r in rows) == [
        ("EO1.1", "evidenced", False), ("EO1.2", "evidenced", False), ("EO2.1", "evidenced", False)]
    assert any(r.features for r in rows)  # the stored text was chunked, indexed and retrieved again


@pytest.mark.slow
def test_prescreen_train_writes_weights_that_screening_then_uses(tmp_path, monkeypatch):
    """The command end to end on two labelled bundles, with the real embedding model."""
    from click.testing import CliRunner

    from prescreen.cli import main
    from tests.test_pipeline import ROOT

    monkeypatch.setenv("PRESCREEN_DATA_DIR", str(tmp_path))
    keys = [ROOT / "benchmarks" / "labelled" / f"{name}.labels.yaml" for name in ("a2-juniper-flats", "a3-harbor-view")]
    result = CliRunner().invoke(main, ["train", *map(str, keys), "--root", str(ROOT), "--no-reviews"])
    assert result.exit_code == 0, result.output
    assert "status model" in result.output and (tmp_path / "evidence_model.json").is_file()
    trained = EvidenceModel.for_settings(Settings(data_dir=tmp_path))
    assert trained.trained_on["bundles"] == 2 and trained.trained_on["details"] == 24
    screened = CliRunner().invoke(main, ["screen", str(ROOT / "examples" / "harbor-middle"), "--format", "json"])
    assert screened.exit_code == 0


def test_training_on_one_class_says_what_to_add():
    from prescreen.train import TrainingError

    with pytest.raises(TrainingError, match="add labelled bundles"):
        _fit_linear([[0.0], [1.0]], ["evidenced", "evidenced"], ["a"], 1.0, ["evidenced", "weak", "missing"])
