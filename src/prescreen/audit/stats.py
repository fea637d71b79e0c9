"""Agreement statistics from scikit-learn, said honestly for small samples.

Cohen's kappa is undefined when every rating in the sample is the same class (chance agreement is then 1):
the result says so in words instead of carrying a NaN. Below SMALL_SAMPLE pairs a note warns that the
figure is fragile.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

SMALL_SAMPLE = 10
DRAFT_STATUSES = ("evidenced", "weak", "missing")
SCORES = ("demonstrated", "not_yet")
AS_SCORE = {"evidenced": "demonstrated", "weak": "not_yet", "missing": "not_yet"}


class Agreement(BaseModel):
    """How often two raters agree on the same items, and Cohen's kappa (None when undefined)."""

    n: int = Field(description="Items both raters rated.")
    agreement: float | None = Field(None, description="Share of items with the same rating (None when n is 0).")
    kappa: float | None = Field(None, description="Cohen's kappa (None when undefined: see note).")
    note: str = Field("", description="Why kappa is missing, or why to read it with care.")


class DetailAgreement(BaseModel):
    """One rubric detail's agreement (assessors with each other, with the final result, or with gold)."""

    detail_id: str
    stats: Agreement


def agreement(first: Sequence[str], second: Sequence[str]) -> Agreement:
    """Percent agreement and Cohen's kappa of two raters over the same items, in the same order."""
    if len(first) != len(second):
        raise ValueError("both raters must rate the same items")
    n = len(first)
    if n == 0:
        return Agreement(n=0, note="no items rated by both yet")
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    classes = set(first) | set(second)
    if len(classes) < 2:
        return Agreement(n=n, agreement=observed, note=f"kappa undefined: every rating is {next(iter(classes))}"
                         + _small(n))
    kappa = _kappa(first, second)
    note = "kappa undefined for these ratings" if kappa is None else ""
    return Agreement(n=n, agreement=observed, kappa=kappa, note=(note + _small(n)).lstrip("; "))


def _codes(values: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Labels as small integers: scikit-learn reads them far faster than strings."""
    index = {label: i for i, label in enumerate(labels)}
    return np.fromiter((index[v] for v in values), dtype=np.int64, count=len(values))


def _kappa(first: Sequence[str], second: Sequence[str]) -> float | None:
    from sklearn.metrics import cohen_kappa_score  # here: the review service reads Agreement without sklearn

    labels = sorted(set(first) | set(second))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(cohen_kappa_score(_codes(first, labels), _codes(second, labels)))
    return None if math.isnan(value) else value


def _small(n: int) -> str:
    return f"; only {n} items: read with care" if n < SMALL_SAMPLE else ""


def draft_vs_final(drafted: Sequence[str], final: Sequence[str]) -> list[list[int]]:
    """Confusion matrix: rows the drafted status (evidenced, weak, missing), columns the final score
    (demonstrated, not_yet)."""
    from sklearn.metrics import confusion_matrix

    labels = [*DRAFT_STATUSES, *SCORES]
    if not drafted:
        return [[0] * len(SCORES) for _ in DRAFT_STATUSES]
    matrix = confusion_matrix(_codes(drafted, labels), _codes(final, labels), labels=range(len(labels)))
    return matrix[: len(DRAFT_STATUSES), len(DRAFT_STATUSES):].tolist()


def draft_agreement(drafted: Sequence[str], final: Sequence[str]) -> Agreement:
    """The draft read as a score (evidenced: demonstrated; weak or missing: not yet) against the final score."""
    return agreement([AS_SCORE.get(d, d) for d in drafted], list(final))


def rate(count: int, total: int) -> float | None:
    return count / total if total else None
