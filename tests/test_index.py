"""The index against real Chroma: embedded on disk, and a real server started by the test (`chroma run`)."""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import chromadb
import pytest

from prescreen.chunking import chunk_sources
from prescreen.index import EvidenceIndex, make_client
from prescreen.models import Segment, Source
from prescreen.settings import ChunkingSettings, IndexSettings, Settings
from tests.fakes import StemHashEmbeddings


def sources(extra: str = "") -> list[Source]:
    pages = [
        "Discipline referrals by subgroup were shared with staff.",
        "Advisory connects every student with a mentor." + extra,
    ]
    return [Source(id="A1", file="a.pdf", role="artifact", kind="pdf", page_count=2,
                   segments=[Segment(page=i + 1, text=t) for i, t in enumerate(pages)])]


def exercise(settings: Settings) -> None:
    """The behaviour every Chroma deployment must show, through the one code path."""
    embedder = StemHashEmbeddings()
    index = EvidenceIndex.from_settings(settings, embedder)
    chunks = chunk_sources(sources(), "S-1", ChunkingSettings())
    first = index.add("S-1", chunks)
    assert (first.embedded, first.reused) == (2, 0)
    other = chunk_sources(sources(), "S-2", ChunkingSettings())
    index.add("S-2", other)

    again = EvidenceIndex.from_settings(settings, embedder).add("S-1", chunks)
    assert (again.embedded, again.reused) == (0, 2), "an unchanged submission embeds nothing"

    changed = chunk_sources(sources(" Mentors meet weekly."), "S-1", ChunkingSettings())
    stats = index.add("S-1", changed)
    assert (stats.embedded, stats.reused, stats.removed) == (1, 1, 1), "stale chunks go, new ones come"

    hits = index.search("S-1", embedder.embed_query("mentor advisory"), n=10)
    assert set(hits) == {c.id for c in changed}, "retrieval stays inside the submission"
    assert max(hits, key=hits.get) == next(c.id for c in changed if c.page == 2)

    before = len(embedder.embedded)
    index.embed_queries(["a detail query"])
    index.embed_queries(["a detail query"])
    assert len(embedder.embedded) == before + 1, "query vectors are cached"


def test_persistent_store_survives_a_new_client(tmp_path):
    settings = Settings(data_dir=tmp_path)
    exercise(settings)
    assert (tmp_path / "chroma").is_dir()
    names = [c.name for c in make_client(settings).list_collections()]
    assert settings.index_name() in names


def test_collection_name_changes_with_model_and_chunking():
    base = Settings()
    assert base.index_name() != Settings(chunking={"size": 500}).index_name()
    assert base.index_name() != Settings(embedding={"provider": "openai"}).index_name()
    assert base.index_name() == Settings().index_name()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen([exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
            break
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("chroma server did not start")
            time.sleep(0.3)
    yield port
    proc.terminate()
    proc.wait(timeout=20)


@pytest.mark.slow
def test_chroma_server_through_the_same_code(chroma_server, tmp_path):
    settings = Settings(data_dir=tmp_path, index=IndexSettings(chroma_host="127.0.0.1", chroma_port=chroma_server))
    exercise(settings)
    assert not (tmp_path / "chroma").exists(), "with a host configured nothing is stored locally"
