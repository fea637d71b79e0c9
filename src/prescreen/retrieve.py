"""Evidence per rubric detail: lexical (BM25) and semantic (Chroma) rankings fused by reciprocal rank.

Retrieval is restricted to one submission's chunks.
"""

from __future__ import annotations

import bm25s
from pydantic import BaseModel, Field

from prescreen.index import EvidenceIndex
from prescreen.models import Chunk, Detail, Locator
from prescreen.settings import RetrievalSettings
from prescreen.textutil import stems

RRF_K = 60


class Candidate(BaseModel):
    """A chunk proposed as evidence for a detail, with why."""

    chunk: Chunk
    similarity: float = 0.0
    lexical: float = 0.0
    fused: float = 0.0
    pointed_by_earner: bool = False
    pointed: list[Locator] = Field(
        default_factory=list, description="The earner's locators for the detail that point into this chunk."
    )


def detail_query(detail: Detail) -> str:
    """The text that stands for a detail in both rankings: the detail and its look-fors."""
    look_fors = "; ".join(detail.look_fors)
    return f"{detail.text} {look_fors}".strip()


class Retriever:
    def __init__(self, submission_id: str, chunks: list[Chunk], index: EvidenceIndex, settings: RetrievalSettings):
        self.submission_id = submission_id
        self.chunks = {c.id: c for c in chunks}
        self.order = [c.id for c in chunks]
        self.index = index
        self.settings = settings
        self.bm25 = bm25s.BM25()
        if chunks:
            self.bm25.index([stems(c.embed_text) or ["_"] for c in chunks], show_progress=False)

    def lexical_scores(self, query: str) -> dict[str, float]:
        if not self.chunks:
            return {}
        tokens = stems(query) or ["_"]
        scores = self.bm25.get_scores(tokens)
        return {self.order[i]: float(s) for i, s in enumerate(scores) if s > 0}

    def similarities(self, vector: list[float]) -> dict[str, float]:
        if not self.chunks:
            return {}
        return self.index.search(self.submission_id, vector, n=len(self.chunks))

    def candidates(self, detail: Detail, vector: list[float]) -> list[Candidate]:
        """The top chunks for the detail after reciprocal-rank fusion of both rankings."""
        lexical = self.lexical_scores(detail_query(detail))
        semantic = self.similarities(vector)
        fused: dict[str, float] = {}
        for ranking in (_top(lexical, self.settings.candidates), _top(semantic, self.settings.candidates)):
            for rank, id_ in enumerate(ranking):
                fused[id_] = fused.get(id_, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(fused, key=fused.__getitem__, reverse=True)[: self.settings.top_k]
        return [
            Candidate(
                chunk=self.chunks[i], similarity=semantic.get(i, 0.0), lexical=lexical.get(i, 0.0), fused=fused[i]
            )
            for i in best
            if i in self.chunks
        ]


def _top(scores: dict[str, float], n: int) -> list[str]:
    return sorted(scores, key=scores.__getitem__, reverse=True)[:n]
