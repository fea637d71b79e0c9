"""Rubric lint: where a rubric is unclear, from its own text and from what the review database shows.

From the text: detail pairs whose retrieval queries (text and look-fors, as `retrieve.detail_query` builds them)
embed so closely that evidence for one is retrieved for the other, and look-fors shared word for word.
From the data (an Audit): details never or rarely evidenced, and those where assessors, or the AI and the
final scores, disagree most. The embedder is passed in (the project's, from settings; tests may pass a fake).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, Field

from prescreen.audit.report import Audit, Table, table_of
from prescreen.audit.stats import DetailAgreement
from prescreen.models import Rubric
from prescreen.retrieve import detail_query

SIMILAR_AT = 0.70  # cosine of all-MiniLM-L6-v2 query vectors; the shipped rubrics' closest pair is 0.64
RARE_AT_MOST = 0.2
TOP = 5


class SimilarPair(BaseModel):
    rubric: str
    first: str
    second: str
    similarity: float = Field(description="Cosine similarity of the two details' retrieval queries.")
    flagged: bool = Field(description="At or above the threshold: evidence for one is likely retrieved for the other.")
    first_text: str
    second_text: str


class SharedLookFor(BaseModel):
    rubric: str
    look_for: str
    details: list[str]


class RubricLint(BaseModel):
    rubric: str
    version: str
    threshold: float
    pairs: list[SimilarPair] = Field(description="Flagged pairs, then the closest others (at most `top` in all).")
    shared_look_fors: list[SharedLookFor]

    @property
    def problems(self) -> int:
        return sum(p.flagged for p in self.pairs) + len(self.shared_look_fors)


class RareRow(BaseModel):
    detail_id: str
    detail: str
    final_n: int
    demonstrated_rate: float | None
    drafted_n: int
    evidenced_rate: float | None
    never: bool = Field(description="Never evidenced as drafted nor demonstrated in a final result.")


class DataLint(BaseModel):
    rare_at_most: float
    rarely_evidenced: list[RareRow]
    assessor_disagreement: list[DetailAgreement] = Field(description="Lowest agreement of the two assessors first.")
    ai_disagreement: list[DetailAgreement] = Field(description="Lowest agreement of draft and final score first.")


class AuditLint(BaseModel):
    data: DataLint
    rubrics: list[RubricLint] = Field(default_factory=list)

    def tables(self) -> list[Table]:
        pairs = [p for r in self.rubrics for p in r.pairs]
        shared = [s for r in self.rubrics for s in r.shared_look_fors]
        similar_note = (f"Flagged at cosine similarity {self.rubrics[0].threshold:.2f} or more." if self.rubrics
                        else "Not computed: no embedder was given.")
        return [
            table_of("lint_similar", "Details whose text and look-fors embed closely", SimilarPair, pairs,
                     similar_note),
            table_of("lint_shared_look_fors", "Look-fors shared by several details", SharedLookFor, shared),
            table_of("lint_rare", f"Details rarely evidenced (at most {self.data.rare_at_most:.0%})", RareRow,
                     self.data.rarely_evidenced),
            table_of("lint_assessors", "Details where assessors disagree most", DetailAgreement,
                     self.data.assessor_disagreement),
            table_of("lint_ai", "Details where AI and final scores disagree most", DetailAgreement,
                     self.data.ai_disagreement),
        ]


# ---------------------------------------------------------------- from the rubric's text


def similarity_matrix(rubric: Rubric, embedder: Embeddings) -> np.ndarray:
    vectors = np.asarray(embedder.embed_documents([detail_query(d) for d in rubric.details]), dtype=float)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors @ vectors.T


def lint_rubric(rubric: Rubric, embedder: Embeddings, threshold: float = SIMILAR_AT, top: int = TOP) -> RubricLint:
    """Every pair at or above `threshold`, then the closest others up to `top` pairs; shared look-fors."""
    details = rubric.details
    sims = similarity_matrix(rubric, embedder)
    pairs = sorted(((float(sims[i, j]), i, j) for i in range(len(details)) for j in range(i + 1, len(details))),
                   reverse=True)
    kept = [p for p in pairs if p[0] >= threshold]
    kept += [p for p in pairs if p[0] < threshold][: max(0, top - len(kept))]
    return RubricLint(
        rubric=rubric.id, version=rubric.version, threshold=threshold, shared_look_fors=shared_look_fors(rubric),
        pairs=[SimilarPair(rubric=rubric.id, first=details[i].id, second=details[j].id, similarity=round(s, 4),
                           flagged=s >= threshold, first_text=details[i].text, second_text=details[j].text)
               for s, i, j in kept])


def shared_look_fors(rubric: Rubric) -> list[SharedLookFor]:
    owners: dict[str, list[str]] = defaultdict(list)
    spelling: dict[str, str] = {}
    for detail in rubric.details:
        for look_for in detail.look_fors:
            key = " ".join(look_for.casefold().split())
            spelling.setdefault(key, look_for)
            if detail.id not in owners[key]:
                owners[key].append(detail.id)
    return [SharedLookFor(rubric=rubric.id, look_for=spelling[k], details=ids)
            for k, ids in owners.items() if len(ids) > 1]


# ---------------------------------------------------------------- from the review data


def lint_data(audit: Audit, rare_at_most: float = RARE_AT_MOST, top: int = TOP) -> DataLint:
    rare = [RareRow(detail_id=r.detail_id, detail=r.detail, final_n=r.final_n, demonstrated_rate=r.demonstrated_rate,
                    drafted_n=r.drafted_n, evidenced_rate=r.evidenced_rate, never=not (r.evidenced or r.demonstrated))
            for r in audit.coverage if _rate(r.demonstrated_rate, r.evidenced_rate) <= rare_at_most]
    ai = [DetailAgreement(detail_id=r.detail_id, stats=r.stats) for r in audit.ai_vs_human]
    return DataLint(rare_at_most=rare_at_most, rarely_evidenced=rare,
                    assessor_disagreement=_least_agreed(audit.assessor_details, top),
                    ai_disagreement=_least_agreed(ai, top))


def _rate(final: float | None, drafted: float | None) -> float:
    """The final rate when there are final results, else the drafted one; no data at all is not `rare`."""
    value = final if final is not None else drafted
    return 1.0 if value is None else value


def _least_agreed(rows: list[DetailAgreement], top: int) -> list[DetailAgreement]:
    rated = [r for r in rows if r.stats.agreement is not None and r.stats.agreement < 1]
    return sorted(rated, key=lambda r: (r.stats.agreement, r.stats.kappa if r.stats.kappa is not None else 1,
                                        -r.stats.n))[:top]


def lint_audit(audit: Audit, embedder: Embeddings | None = None, threshold: float = SIMILAR_AT) -> AuditLint:
    """The lint section of the audit: the data's findings, and each screened rubric's close pairs when an
    embedder is given."""
    rubrics = [lint_rubric(r, embedder, threshold) for r in audit.rubrics] if embedder is not None else []
    return AuditLint(data=lint_data(audit), rubrics=rubrics)
