"""Fakes for unit tests: an embedder with a little meaning and no model. Real components have their own tests."""

from __future__ import annotations

import hashlib
import math

from langchain_core.embeddings import Embeddings

from prescreen.textutil import stems


class StemHashEmbeddings(Embeddings):
    """Bag of word stems hashed into a fixed-size vector: texts that share words are close.

    Counts the texts it embeds, so tests can assert what was (not) embedded.
    """

    def __init__(self, size: int = 256):
        self.size = size
        self.embedded: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.size
        for stem in stems(text) or ["_empty_"]:
            vec[int(hashlib.md5(stem.encode()).hexdigest(), 16) % self.size] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]
