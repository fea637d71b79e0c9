"""The real default embedding model: loaded from the installed package, with the network shut."""

import socket

import numpy as np
import pytest

from prescreen.embeddings import LocalEmbeddings, make_embedder
from prescreen.errors import ConfigurationError
from prescreen.settings import Settings


@pytest.fixture
def no_network(monkeypatch):
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not host.startswith(("127.", "::1", "localhost", "/")):
            raise AssertionError(f"network access attempted: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.mark.slow
def test_packaged_minilm_loads_offline_and_embeds_meaningfully(no_network):
    embedder = LocalEmbeddings()
    assert not embedder.loaded, "the model loads lazily"
    advisory, mentors, budget = np.array(embedder.embed_documents([
        "Every student meets daily with an adult advisor who knows them well.",
        "Each child is paired with a mentor teacher for weekly check-ins.",
        "The district approved the bus maintenance budget for next spring.",
    ]))
    assert embedder.loaded and advisory.shape == (384,)
    assert np.isclose(np.linalg.norm(advisory), 1.0, atol=1e-4)
    assert advisory @ mentors > advisory @ budget + 0.2


def test_openai_embeddings_need_a_key():
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        make_embedder(Settings(embedding={"provider": "openai"}))


def test_openai_embeddings_by_settings():
    embedder = make_embedder(Settings(embedding={"provider": "openai"}, openai_api_key="sk-test"))
    assert type(embedder).__name__ == "OpenAIEmbeddings" and embedder.model == "text-embedding-3-small"
