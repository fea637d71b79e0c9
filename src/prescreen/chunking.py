"""Sources -> chunks sized for embedding, each keeping its provenance (LangChain's recursive splitter).

A PDF is split page by page, so a chunk never straddles pages and every citation stays page-accurate.
Paragraph sources and transcripts are split as one text; a chunk records the paragraphs or the time span
it covers.
"""

from __future__ import annotations

import hashlib

from langchain_text_splitters import RecursiveCharacterTextSplitter

from prescreen.models import Chunk, Segment, Source
from prescreen.settings import ChunkingSettings

Span = tuple[int, int, Segment]


def make_splitter(settings: ChunkingSettings) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=settings.size, chunk_overlap=min(settings.overlap, settings.size // 2), add_start_index=True
    )


def chunk_sources(sources: list[Source], submission_id: str, settings: ChunkingSettings) -> list[Chunk]:
    splitter = make_splitter(settings)
    chunks: list[Chunk] = []
    for source in sources:
        for group in segment_groups(source):
            chunks.extend(_chunk_group(splitter, source, group, submission_id))
    return chunks


def segment_groups(source: Source) -> list[list[Segment]]:
    """Pages of a PDF one by one; any other source as a whole."""
    segments = [s for s in source.segments if s.text.strip()]
    if source.kind == "pdf":
        return [[s] for s in segments]
    return [segments] if segments else []


def join_segments(source: Source, segments: list[Segment]) -> tuple[str, list[Span]]:
    """One text for the group, and where each segment stands in it."""
    joiner = " " if source.kind == "transcript" else "\n\n"
    spans: list[Span] = []
    offset = 0
    for segment in segments:
        spans.append((offset, offset + len(segment.text), segment))
        offset += len(segment.text) + len(joiner)
    return joiner.join(s.text for s in segments), spans


def segments_in(source: Source, chunk: Chunk) -> list[Segment]:
    """The segments of its source that a chunk covers: its page, its paragraphs, or its cues."""
    if chunk.page is not None:
        return [s for s in source.segments if s.page == chunk.page]
    if chunk.start is not None and chunk.end is not None:
        start, end = chunk.start, chunk.end
        return [
            s for s in source.segments
            if s.start is not None and s.end is not None and start <= s.start and s.end <= end
        ]
    if chunk.paragraph_start is not None and chunk.paragraph_end is not None:
        first, last = chunk.paragraph_start, chunk.paragraph_end
        return [s for s in source.segments if s.paragraph is not None and first <= s.paragraph <= last]
    return []


def covered(spans: list[Span], start: int, end: int) -> list[Segment]:
    return [segment for a, b, segment in spans if a < end and b > start]


def _chunk_group(splitter, source: Source, segments: list[Segment], submission_id: str) -> list[Chunk]:
    text, spans = join_segments(source, segments)
    chunks = []
    for doc in splitter.create_documents([text]):
        start = doc.metadata["start_index"]
        end = start + len(doc.page_content)
        chunks.append(_make_chunk(source, covered(spans, start, end), doc.page_content, start, end, submission_id))
    return chunks


def _make_chunk(source: Source, segs: list[Segment], text: str, start: int, end: int, submission_id: str) -> Chunk:
    first, last = segs[0], segs[-1]
    chunk = Chunk(
        id="",
        submission_id=submission_id,
        source_id=source.id,
        text=text,
        page=first.page,
        paragraph_start=first.paragraph,
        paragraph_end=last.paragraph,
        section=first.section,
        start=first.start,
        end=last.end,
        char_start=start,
        char_end=end,
        heading=" / ".join(dict.fromkeys(h for h in [source.title, *(s.section for s in segs)] if h)),
    )
    key = f"{submission_id}\x1f{source.id}\x1f{chunk.where}\x1f{start}\x1f{chunk.embed_text}"
    return chunk.model_copy(update={"id": hashlib.sha256(key.encode()).hexdigest()[:32]})
