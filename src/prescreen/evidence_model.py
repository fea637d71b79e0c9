"""The learned part of the offline drafter: two small logistic models over features the drafter computes.

- The **sentence model** scores each candidate sentence: how likely it sits at a place that holds evidence
  for the detail (vector similarity, BM25, look-for overlap, action / plan / negation markers, table and
  number density, the kind of file and its role).
- The **status model** decides each detail's status (`evidenced` / `weak` / `missing`) from the sentence
  scores: the best artifact sentence and the best narrative sentence, whether the best ones are plans or
  negations, whether the place the earner points to holds evidence, the kind of detail.

Both are trained by `prescreen train` (see train.py) with cross-validation on labelled bundles and, once
assessors have worked, on their confirmed and overridden findings. Their weights are a small readable JSON
file (`weights/evidence_model.json`): a scaler's means and scales, and a coefficient per feature. Inference
is plain numpy: no scikit-learn needed at screening time.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
from pydantic import BaseModel, Field, model_validator

from prescreen.models import Detail
from prescreen.textutil import stems

WEIGHTS = Path(__file__).parent / "weights" / "evidence_model.json"
STATUSES = ("evidenced", "weak", "missing")

# ---------------------------------------------------------------- what a sentence looks like

_PAST_VERB = (
    r"(?:[a-z]{3,}ed|met|led|held|gave|built|began|ran|took|made|chose|wrote|sent|brought|spoke|found|"
    r"taught|grew|fell|rose|cut|drew|saw|told|sat|shared|did|got|put|set up|kept|went|learned|learnt|"
    r"read|said|won|paid|spent|heard|sought|thought|became|chosen|given|taken|shown|written|done|begun)"
)
PAST_ACTION = re.compile(
    r"\b(?:we|I|our\s+\w+|staff|teachers|team|they|students|families|parents|the\s+\w+|[A-Z][a-z]+)\b"
    r"[^.;:|\n]{0,60}?\b" + _PAST_VERB + r"\b",
    re.I,
)
PASSIVE = re.compile(r"\b(?:was|were|has been|have been|had been|is|are)\s+(?:\w+ly\s+)?" + _PAST_VERB + r"\b", re.I)
PLAN = re.compile(
    r"\b(?:will|plan(?:s|ning)? to|intend(?:s|ed)? to|hope(?:s|d)? to|hoping|would like|want(?:s)? to|"
    r"next (?:year|fall|spring|semester|school year)|going to|aim(?:s)? to|should|could|might|someday|"
    r"eventually|in the future|would be|would have|to be (?:formed|decided|determined|scheduled)|TBD|"
    r"not yet (?:started|begun)|proposed|upcoming|beginning in)\b",
    re.I,
)
NEGATED = re.compile(
    r"\b(?:not yet|have not|has not|haven't|hasn't|did not|didn't|never|no one|nobody|none of|not been|"
    r"was not|were not|wasn't|weren't|no (?:data|plan|process|team|survey|results?))\b",
    re.I,
)
SPECIFIC = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*%|\b\d{1,4}\b|\b(?:daily|weekly|monthly|quarterly|annually|biweekly|every|each|"
    r"twice|once|responsible|owner|lead|January|February|March|April|May|June|July|August|September|October|"
    r"November|December)\b",
    re.I,
)
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")


@lru_cache(maxsize=1024)
def detail_terms(text: str, look_fors: tuple[str, ...]) -> tuple[frozenset[str], tuple[frozenset[str], ...]]:
    """A detail's stems and its look-fors' stems, computed once per detail."""
    return frozenset(stems(text)), tuple(p for phrase in look_fors if (p := frozenset(stems(phrase))))


def overlap(detail: Detail, text: str) -> tuple[float, float, float]:
    """(share of the detail's words present, whole look-fors present / 3, best partial look-for match)."""
    words = set(stems(text))
    if not words:
        return 0.0, 0.0, 0.0
    detail_words, phrases = detail_terms(detail.text, tuple(detail.look_fors))
    share = len(words & detail_words) / max(1, min(len(detail_words), 8))
    whole = sum(1 for p in phrases if p <= words)
    partial = max((len(p & words) / len(p) for p in phrases), default=0.0)
    return min(1.0, share), min(1.0, whole / 3), partial


class SentenceInput(BaseModel):
    """What the sentence model reads about one candidate sentence."""

    text: str
    context: str = Field("", description="The section heading or page title and the neighbouring lines.")
    role: str = Field(description="`artifact` or `part`.")
    kind: str = Field(description="The source's kind: pdf, docx, text, transcript.")
    similarity: float = Field(0.0, description="Cosine similarity of the sentence's chunk to the detail.")
    best_similarity: float = Field(0.0, description="The best chunk similarity among the detail's candidates.")
    lexical: float = Field(0.0, description="The chunk's BM25 score, relative to the detail's best chunk.")
    table: bool = Field(False, description="A table row or a line of a laid-out table.")


SENTENCE_FEATURES = (
    "similarity", "similarity_gap", "lexical", "detail_overlap", "look_for_whole", "look_for_partial",
    "context_overlap", "context_look_for", "past_action", "passive", "plan", "negated", "specific", "table",
    "digits", "words", "artifact", "pdf", "docx", "text", "transcript",
)


def sentence_features(detail: Detail, s: SentenceInput) -> list[float]:
    share, whole, partial = overlap(detail, s.text)
    c_share, c_whole, c_partial = overlap(detail, s.context)
    m = markers(s.text)
    return [
        s.similarity, s.best_similarity - s.similarity, s.lexical, share, whole, partial,
        c_share, max(c_whole, c_partial), *(float(x) for x in (m.past, m.passive, m.plan, m.negated, m.specific)),
        float(s.table or m.unended), m.digits, m.words, float(s.role == "artifact"),
        *(float(s.kind == k) for k in ("pdf", "docx", "text", "transcript")),
    ]


class Markers(NamedTuple):
    """What a sentence says whatever the detail: past action, passive, plan, negation, specifics, no sentence
    end, the share of its tokens with digits, its length (40 tokens or more is 1)."""

    past: bool
    passive: bool
    plan: bool
    negated: bool
    specific: bool
    unended: bool
    digits: float
    words: float


@lru_cache(maxsize=16384)
def markers(text: str) -> Markers:
    """Computed once per sentence: a sentence is a candidate of many details, and drafting reads it again."""
    tokens = text.split()
    return Markers(
        past=bool(PAST_ACTION.search(text)), passive=bool(PASSIVE.search(text)), plan=bool(PLAN.search(text)),
        negated=bool(NEGATED.search(text)), specific=bool(SPECIFIC.search(text)),
        unended=not _SENTENCE_END.search(text.strip()),
        digits=sum(any(ch.isdigit() for ch in t) for t in tokens) / max(1, len(tokens)),
        words=min(len(tokens), 40) / 40,
    )


# ---------------------------------------------------------------- a detail's status from its sentences


class ScoredSentence(BaseModel):
    """A candidate sentence with the sentence model's score and the markers the status model reads."""

    score: float
    role: str
    plan: bool
    negated: bool
    past: bool
    at_pointer: bool = Field(False, description="At a place the earner's self-analysis points to.")
    source: str = Field("", description="The artifact or part the sentence is in.")
    words: frozenset[str] = Field(
        frozenset(), description="The stems of the sentence and its context: what of the detail it can cover."
    )


STATUS_FEATURES = (
    "best_artifact", "best_artifact_done", "best_artifact_plan", "top3_artifact", "artifact_over_third",
    "artifact_over_half", "best_part", "best_part_done", "part_over_artifact", "best_at_pointer",
    "pointer_given", "plan_detail", "plan_detail_x_plan", "statement_detail", "best_similarity",
    "best_artifact_negated", "best_part_negated", "best_part_plan", "artifacts_over_half",
    "artifact_look_fors_covered", "artifact_words_covered", "artifact_third_look_fors_covered",
    "artifact_third_words_covered", "part_look_fors_covered", "part_words_covered",
)


def status_features(detail: Detail, sentences: list[ScoredSentence], best_similarity: float) -> list[float]:
    def best(role: str, keep=lambda s: True) -> float:
        return max((s.score for s in sentences if s.role == role and keep(s)), default=0.0)

    artifact = sorted((s.score for s in sentences if s.role == "artifact"), reverse=True)
    top, plans = best("artifact"), best("artifact", lambda s: s.plan)
    plan_detail = float(detail.evidence == "plan")
    return [
        top, best("artifact", _done), plans, float(np.mean(artifact[:3])) if artifact else 0.0,
        min(5, sum(x >= 1 / 3 for x in artifact)) / 5, min(5, sum(x >= 0.5 for x in artifact)) / 5,
        best("part"), best("part", _done), best("part") - top, best("artifact", lambda s: s.at_pointer),
        float(any(s.at_pointer for s in sentences)), plan_detail, plan_detail * plans,
        float(detail.evidence == "statement"), best_similarity,
        # what speaks against evidence: the earner's own "not yet" or "we plan to" where it scores best
        best("artifact", lambda s: s.negated), best("part", lambda s: s.negated), best("part", lambda s: s.plan),
        min(3, len({s.source for s in sentences if s.role == "artifact" and s.score >= 0.5})) / 3,
        # how much of the detail its evidence covers: evidence of one part of a detail covers little of it
        *_coverage(detail, sentences, "artifact", 0.5), *_coverage(detail, sentences, "artifact", 1 / 3),
        *_coverage(detail, sentences, "part", 0.5),
    ]


def _coverage(detail: Detail, sentences: list[ScoredSentence], role: str, at: float) -> tuple[float, float]:
    """The share of the detail's look-fors (half their words or more) and of its own words that the done
    sentences of one role scoring `at` or more carry between them."""
    words: set[str] = set()
    for s in sentences:
        if s.role == role and s.score >= at and _done(s):
            words |= s.words
    detail_words, phrases = detail_terms(detail.text, tuple(detail.look_fors))
    look_fors = sum(len(p & words) >= len(p) / 2 for p in phrases) / max(1, len(phrases))
    return look_fors, len(detail_words & words) / max(1, len(detail_words))


def _done(s: ScoredSentence) -> bool:
    return not s.plan and not s.negated


# ---------------------------------------------------------------- the models and their weights


class LinearModel(BaseModel):
    """A standardised logistic model: binary (one row of coefficients) or multinomial (one row a class)."""

    features: list[str]
    classes: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[list[float]]
    intercept: list[float]

    def _z(self, rows: np.ndarray) -> np.ndarray:
        x = (np.asarray(rows, dtype=float) - np.asarray(self.mean)) / np.asarray(self.scale)
        return x @ np.asarray(self.coef).T + np.asarray(self.intercept)

    def proba(self, rows: list[list[float]]) -> np.ndarray:
        """Class probabilities, one row a sample, columns in `classes` order."""
        if not len(rows):
            return np.zeros((0, len(self.classes)))
        z = self._z(np.asarray(rows, dtype=float))
        if len(self.classes) == 2 and z.shape[1] == 1:
            p = 1 / (1 + np.exp(-z[:, 0]))
            return np.column_stack([1 - p, p])
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def weights_table(self) -> list[tuple[str, list[float]]]:
        """(feature, coefficient per class row) on the standardised scale: what the model learned."""
        return [(f, [round(row[i], 3) for row in self.coef]) for i, f in enumerate(self.features)]


class EvidenceModel(BaseModel):
    """Both models, with how they were trained."""

    sentence: LinearModel
    status: LinearModel
    trained_on: dict[str, object] = Field(default_factory=dict, description="Bundles, rows, CV scores.")

    @model_validator(mode="after")
    def _features_match_the_code(self) -> EvidenceModel:
        if self.sentence.features != list(SENTENCE_FEATURES) or self.status.features != list(STATUS_FEATURES):
            raise ValueError("the weights were trained on other features than this prescreen computes: "
                             "retrain them with `prescreen train`")
        return self

    @classmethod
    def load(cls, path: Path | None = None) -> EvidenceModel:
        return cls.model_validate(json.loads((path or WEIGHTS).read_text()))

    @classmethod
    def for_settings(cls, settings) -> EvidenceModel:
        """The configured weights; else those `prescreen train` left in the data directory; else the shipped."""
        trained = settings.data_dir / "evidence_model.json"
        return cls.load(settings.evidence_model or (trained if trained.is_file() else None))

    @classmethod
    def untrained(cls) -> EvidenceModel:
        """All weights zero: what `prescreen train` screens with before any model exists."""
        def zero(features: tuple[str, ...], classes: list[str], rows: int) -> LinearModel:
            n = len(features)
            return LinearModel(features=list(features), classes=classes, mean=[0.0] * n, scale=[1.0] * n,
                               coef=[[0.0] * n] * rows, intercept=[0.0] * rows)

        return cls(sentence=zero(SENTENCE_FEATURES, ["other", "evidence"], 1),
                   status=zero(STATUS_FEATURES, list(STATUSES), 3))

    def save(self, path: Path | None = None) -> Path:
        path = path or WEIGHTS
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.model_dump(), indent=1) + "\n")
        tmp.replace(path)
        return path

    def score_sentences(self, detail: Detail, inputs: list[SentenceInput]) -> list[float]:
        rows = [sentence_features(detail, s) for s in inputs]
        return [float(p) for p in self.sentence.proba(rows)[:, 1]] if rows else []

    def status_of(self, detail: Detail, sentences: list[ScoredSentence], best_similarity: float) -> dict[str, float]:
        probs = self.status.proba([status_features(detail, sentences, best_similarity)])[0]
        return dict(zip(self.status.classes, (float(p) for p in probs), strict=True))
