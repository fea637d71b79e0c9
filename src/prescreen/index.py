"""The evidence index: chunk vectors in Chroma, embedded server or on disk, through the same code.

Chunk ids are content hashes, so re-indexing an unchanged submission embeds nothing. Query vectors for
rubric details are cached in a second collection, so a warm re-screen needs no model at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import chromadb
import numpy as np
from chromadb.api.collection_configuration import CreateCollectionConfiguration
from chromadb.api.types import GetResult
from chromadb.config import Settings as ChromaSettings
from langchain_core.embeddings import Embeddings

from prescreen.models import Chunk
from prescreen.settings import Settings

_COSINE: CreateCollectionConfiguration = {"hnsw": {"space": "cosine"}}


def make_client(settings: Settings) -> chromadb.ClientAPI:
    """A Chroma server when a host is configured; otherwise a persistent store under the data directory."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.index.chroma_host:
        return chromadb.HttpClient(
            host=settings.index.chroma_host,
            port=settings.index.chroma_port,
            ssl=settings.index.chroma_ssl,
            settings=chroma_settings,
        )
    path = settings.data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


@dataclass
class IndexStats:
    embedded: int = 0
    reused: int = 0
    removed: int = 0


class EvidenceIndex:
    def __init__(self, client: chromadb.ClientAPI, name: str, embedder: Embeddings):
        self.embedder = embedder
        self.chunks = client.get_or_create_collection(name, configuration=_COSINE, embedding_function=None)
        self.queries = client.get_or_create_collection(
            name.replace("chunks-", "queries-"), configuration=_COSINE, embedding_function=None
        )

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embeddings) -> EvidenceIndex:
        return cls(make_client(settings), settings.index_name(), embedder)

    def add(self, submission_id: str, chunks: list[Chunk]) -> IndexStats:
        """Make the index hold exactly these chunks for the submission, embedding only what is new."""
        stored = set(self.chunks.get(where={"submission_id": submission_id}, include=[])["ids"])
        wanted = {c.id: c for c in chunks}
        stale = sorted(stored - wanted.keys())
        if stale:
            self.chunks.delete(ids=stale)
        new = [c for id_, c in wanted.items() if id_ not in stored]
        if new:
            vectors = self.embedder.embed_documents([c.embed_text for c in new])
            self.chunks.upsert(
                ids=[c.id for c in new], embeddings=np.asarray(vectors, dtype=np.float32),
                documents=[c.text for c in new], metadatas=[_metadata(c) for c in new],
            )
        return IndexStats(embedded=len(new), reused=len(wanted) - len(new), removed=len(stale))

    def search(self, submission_id: str, vector: list[float], n: int) -> dict[str, float]:
        """Chunk id -> cosine similarity, for the n nearest chunks of this submission only."""
        result = self.chunks.query(
            query_embeddings=np.asarray([vector], dtype=np.float32),
            n_results=n, where={"submission_id": submission_id}, include=["distances"],
        )
        if result["distances"] is None:
            raise RuntimeError("Chroma returned no distances for a query that included them")
        return {id_: 1.0 - dist for id_, dist in zip(result["ids"][0], result["distances"][0], strict=True)}

    def vectors(self, ids: list[str]) -> dict[str, list[float]]:
        if not ids:
            return {}
        return _vectors_by_id(self.chunks.get(ids=ids, include=["embeddings"]))

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Vectors for query texts, from the cache where it has them."""
        keys = [hashlib.sha256(t.encode()).hexdigest()[:32] for t in texts]
        unique = dict(zip(keys, texts, strict=True))
        found = _vectors_by_id(self.queries.get(ids=list(unique), include=["embeddings"]))
        missing = [k for k in unique if k not in found]
        if missing:
            vectors = self.embedder.embed_documents([unique[k] for k in missing])
            self.queries.upsert(ids=missing, embeddings=np.asarray(vectors, dtype=np.float32))
            found.update(zip(missing, vectors, strict=True))
        return [found[k] for k in keys]

    def forget(self, submission_id: str) -> int:
        ids = self.chunks.get(where={"submission_id": submission_id}, include=[])["ids"]
        if ids:
            self.chunks.delete(ids=ids)
        return len(ids)


def _vectors_by_id(got: GetResult) -> dict[str, list[float]]:
    """Id -> vector, from a get() that included the embeddings."""
    if got["embeddings"] is None:
        raise RuntimeError("Chroma returned no embeddings for a get() that included them")
    return {id_: list(map(float, vec)) for id_, vec in zip(got["ids"], got["embeddings"], strict=True)}


def _metadata(chunk: Chunk) -> dict[str, str | int | float]:
    """Chroma metadata holds no None: keep the provenance fields that are set."""
    fields = chunk.model_dump(exclude={"id", "text"})
    fields["heading"] = fields["heading"][:500]
    return {k: v for k, v in fields.items() if v is not None}
