"""`prescreen train`: fit the evidence model (evidence_model.py) on labelled bundles and on assessors' work.

Labelled bundles (`*.labels.yaml`, format in benchmarks/labelled/BRIEF.md) give both models their rows:
every candidate sentence is a positive for the sentence model when it sits at a place the answer key names
as evidence for the detail; every detail's status is a row for the status model. Assessors' decisions in
the review database add status rows: a confirmed finding keeps its drafted status, an overridden one takes
the assessor's. Both models are scikit-learn logistic regressions on standardised features, with
cross-validation grouped by bundle (a bundle's sentences never score its own details); the weights are
saved as a small JSON file that screening reads with numpy alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, Field

from prescreen.drafting import Sentence, candidate_sentences
from prescreen.errors import PrescreenError
from prescreen.evidence_model import (
    SENTENCE_FEATURES,
    STATUS_FEATURES,
    STATUSES,
    EvidenceModel,
    LinearModel,
    ScoredSentence,
    sentence_features,
    status_features,
)
from prescreen.locators import parse_locators, place_in
from prescreen.models import Detail
from prescreen.pipeline import Screener, Screening
from prescreen.report import Citation
from prescreen.settings import Settings

FOLDS = 5


class TrainingError(PrescreenError):
    """The rows cannot train a model (one class only, too few submissions); the message says what to add."""


class DetailRows(BaseModel):
    """One detail of one bundle: its candidate sentences' features and labels, and its true status."""

    group: str = Field(description="The bundle: cross-validation never splits it.")
    detail: Detail
    status: str
    best_similarity: float
    features: list[list[float]]
    at_evidence: list[bool] = Field(description="Per sentence: at a labelled evidence place?")
    places_known: bool = Field(True, description="The key names the evidence places (first-format keys do not).")
    markers: list[ScoredSentence] = Field(description="Per sentence: role, markers, pointer (score filled later).")


# ---------------------------------------------------------------- rows


def load_labels(path: Path) -> dict:
    """An answer key, with the first format's `details: {EO1.1: weak}` read as `{status: weak}`."""
    labels = yaml.safe_load(path.read_text())
    labels["details"] = {
        d: value if isinstance(value, dict) else {"status": value, "evidence": []}
        for d, value in labels["details"].items()
    }
    labels.setdefault("author", "legacy")
    return labels


def label_files(paths: Iterable[Path]) -> list[Path]:
    """Answer keys: the files given, and every *.labels.yaml in the folders given."""
    out = []
    for path in paths:
        out += sorted(path.glob("*.labels.yaml")) if path.is_dir() else [path]
    return out


def rows_from_labels(screener: Screener, paths: Iterable[Path], root: Path) -> list[DetailRows]:
    rows: list[DetailRows] = []
    for path in paths:
        labels = load_labels(path)
        screening = screener.screen(root / labels["bundle"])
        if screening.rubric is None:
            continue
        for detail in screening.rubric.details:
            truth = labels["details"].get(detail.id)
            if truth:
                rows.append(detail_rows(screening, detail, truth["status"], truth.get("evidence") or [], path.name))
    return rows


def detail_rows(screening: Screening, detail: Detail, status: str, places: list[dict], group: str) -> DetailRows:
    candidates = screening.evidence.get(detail.id, [])
    sentences = candidate_sentences(detail, candidates, screening.sources)
    return DetailRows(
        group=group, detail=detail, status=status,
        best_similarity=max((c.similarity for c in candidates), default=0.0),
        features=[sentence_features(detail, s.input) for s in sentences],
        at_evidence=[at_any(s, places) for s in sentences],
        places_known=bool(places) or status == "missing",
        markers=[s.scored() for s in sentences],
    )


def at_any(sentence: Sentence, places: list[dict]) -> bool:
    return any(at_place(sentence.citation, place) for place in places)


def at_place(citation: Citation, place: dict) -> bool:
    """Whether a citation sits at a place an answer key names (`{source: A1, locator: "p. 2"}`)."""
    if citation.artifact_id != str(place.get("source")):
        return False
    try:
        return any(place_in(loc, citation) for loc in parse_locators(str(place.get("locator", ""))))
    except ValueError:
        return False


# ---------------------------------------------------------------- fitting


def fit(rows: list[DetailRows], c_sentence: float = 0.1, c_status: float = 1.0) -> EvidenceModel:
    """Both models on all rows, with cross-validated scores of each recorded in `trained_on`."""
    groups = sorted({r.group for r in rows})
    oof = out_of_fold_scores(rows, groups, c_sentence)
    status_x = [
        status_features(r.detail, _with_scores(r, s), r.best_similarity) for r, s in zip(rows, oof, strict=True)
    ]
    predicted = _status_oof(rows, status_x, [r.status for r in rows], groups, c_status)
    sentence = _sentence_model(rows, c_sentence)
    final_x = [status_features(r.detail, _with_scores(r, sentence.proba(r.features)[:, 1] if r.features else []),
                               r.best_similarity) for r in rows]
    status = _fit_linear(final_x, [r.status for r in rows], STATUS_FEATURES, c_status, list(STATUSES))
    return EvidenceModel(sentence=sentence, status=status, trained_on=_cv_report(rows, groups, oof, predicted))


def _cv_report(rows: list[DetailRows], groups: list[str], oof: list, predicted: list[str]) -> dict[str, object]:
    """What training saw, and how the models did on bundles they were not fitted on."""
    from sklearn.metrics import f1_score, roc_auc_score

    _, y_all, _ = _sentence_xy(rows)
    scored = [x for r, s in zip(rows, oof, strict=True) if r.places_known for x in s]
    truth = [r.status for r in rows]
    return {
        "bundles": len(groups), "details": len(rows), "sentences": len(y_all), "cv_folds": min(FOLDS, len(groups)),
        "cv_sentence_auc": round(float(roc_auc_score(y_all, scored)), 3) if len(set(y_all)) > 1 else None,
        "cv_status_accuracy": round(float(np.mean([a == b for a, b in zip(truth, predicted, strict=True)])), 3),
        "cv_gap_f1": round(
            float(f1_score([s != "evidenced" for s in truth], [s != "evidenced" for s in predicted])), 3
        ),
    }


def _sentence_xy(rows: list[DetailRows]) -> tuple[list[list[float]], list[int], list[float]]:
    """The sentence model's rows: only details whose key names where the evidence is. A labelled place says
    that some sentence there is evidence, not which: a detail's positives share one unit of weight, so a
    broad place (a whole transcript, a long page) does not outvote a precise one."""
    x = [f for r in rows if r.places_known for f in r.features]
    y = [int(hit) for r in rows if r.places_known for hit in r.at_evidence]
    w = [1 / max(1, sum(r.at_evidence)) if hit else 1.0 for r in rows if r.places_known for hit in r.at_evidence]
    return x, y, w


def _sentence_model(rows: list[DetailRows], c: float) -> LinearModel:
    x, y, w = _sentence_xy(rows)
    return _fit_linear(x, y, SENTENCE_FEATURES, c, ["other", "evidence"], weights=w, balanced=True)


def _with_scores(row: DetailRows, scores) -> list[ScoredSentence]:
    return [m.model_copy(update={"score": float(s)}) for m, s in zip(row.markers, scores, strict=True)]


def out_of_fold_scores(rows: list[DetailRows], groups: list[str], c: float) -> list[np.ndarray]:
    """Each detail's sentence scores from a sentence model that never saw the detail's bundle."""
    scores: list[np.ndarray] = [np.zeros(len(r.features)) for r in rows]
    for held_out in _folds(groups):
        train = [r for r in rows if r.group not in held_out]
        try:
            model = _sentence_model(train, c)
        except TrainingError:
            continue  # this fold's training bundles hold no labelled evidence place
        for i, r in enumerate(rows):
            if r.group in held_out and r.features:
                scores[i] = model.proba(r.features)[:, 1]
    return scores


def _status_oof(rows, x, y, groups: list[str], c: float) -> list[str]:
    predicted = [""] * len(rows)
    for held_out in _folds(groups):
        train = [i for i, r in enumerate(rows) if r.group not in held_out]
        try:
            model = _fit_linear([x[i] for i in train], [y[i] for i in train], STATUS_FEATURES, c, list(STATUSES))
        except TrainingError:
            continue
        for i, r in enumerate(rows):
            if r.group in held_out:
                probs = model.proba([x[i]])[0]
                predicted[i] = model.classes[int(np.argmax(probs))]
    return predicted


def _folds(groups: list[str]) -> list[set[str]]:
    k = min(FOLDS, len(groups))
    return [set(groups[i::k]) for i in range(k)]


def _fit_linear(x, y, features, c: float, classes: list[str], weights=None, balanced: bool = False) -> LinearModel:
    """A standardised logistic regression as a LinearModel. Binary: y is 0/1 and `classes` names them;
    multinomial: y holds the class names, rows of coefficients follow `classes`. `balanced` reweights the
    classes (the sentence model: evidence is rare); the status model is not, so a gap is called only when
    the data say so (every false gap sends an assessor hunting)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(x, dtype=float)
    scaler = StandardScaler().fit(x)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    if len(set(y)) < 2:
        raise TrainingError(f"the labels hold only one class ({next(iter(set(y)), 'none')}): training needs both "
                            "evidence and gaps; add labelled bundles with evidenced and weak or missing details")
    model = LogisticRegression(C=c, class_weight="balanced" if balanced else None, max_iter=3000)
    model.fit((x - scaler.mean_) / scale, y, sample_weight=weights)
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) > 2:
        classes = [k for k in classes if k in set(model.classes_)]
        order = [list(model.classes_).index(k) for k in classes]
        coef, intercept = coef[order], intercept[order]
    elif isinstance(model.classes_[0], str):  # a status model that saw two statuses: sklearn's order, binary
        classes = [str(k) for k in model.classes_]
    return LinearModel(
        features=list(features), classes=classes,
        mean=scaler.mean_.round(6).tolist(), scale=scale.round(6).tolist(),
        coef=np.round(coef, 6).tolist(), intercept=np.round(intercept, 6).tolist(),
    )


# ---------------------------------------------------------------- assessors' work


class Reviewed(BaseModel):
    """A screening run that assessors worked on, and the status each of them settled for each detail."""

    submission: str
    manifest_json: str
    rubric_json: str
    sources_json: str
    statuses: list[tuple[str, str]] = Field(description="(detail id, status) per submitted assessor decision.")


def reviewed_runs(settings: Settings) -> list[Reviewed]:
    """Every submitted assessor's decisions, on the latest run of each submission: a confirmed finding keeps
    its drafted status, an overridden one takes the assessor's. Unsubmitted work is left out."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from prescreen.review.db import Assignment, Decision, Finding, ScreeningRun, database_url, make_engine

    with Session(make_engine(database_url(settings))) as s:
        latest = {run.submission_id: run for run in s.scalars(select(ScreeningRun).order_by(ScreeningRun.version))}
        drafted = {(f.run_id, f.detail_id): f.status for f in s.scalars(select(Finding))}
        query = select(Decision, Assignment.submission_id).join(Assignment, Decision.assignment_id == Assignment.id)
        out: dict[int, Reviewed] = {}
        query = query.where(Assignment.submitted_at.is_not(None)).order_by(Decision.id)
        for decision, submission_id in s.execute(query):
            run = latest.get(submission_id)
            if run is None or not (run.manifest_json and run.rubric_json):
                continue
            status = decision.new_status if decision.action == "override" else drafted.get((run.id, decision.detail_id))
            if status in STATUSES:
                item = out.setdefault(run.id, Reviewed(
                    submission=str(submission_id), manifest_json=run.manifest_json, rubric_json=run.rubric_json,
                    sources_json=run.sources_json, statuses=[]))
                item.statuses.append((decision.detail_id, status))
    return list(out.values())


def rows_from_reviews(screener: Screener, reviewed: list[Reviewed]) -> list[DetailRows]:
    """Status rows from assessors' decisions (the sentence model learns only from keys that name places)."""
    import json

    from prescreen.models import Manifest, Rubric, Source

    rows = []
    for item in reviewed:
        sources = {k: Source.model_validate(v) for k, v in json.loads(item.sources_json).items()}
        rubric = Rubric.model_validate_json(item.rubric_json)
        screening = screener.replay(Manifest.model_validate_json(item.manifest_json), rubric, sources)
        details = {d.id: d for d in rubric.details}
        for detail_id, status in item.statuses:
            if detail_id in details:
                row = detail_rows(screening, details[detail_id], status, [], f"review:{item.submission}")
                rows.append(row.model_copy(update={"places_known": False}))
    return rows
