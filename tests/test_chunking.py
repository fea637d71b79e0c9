from prescreen.chunking import chunk_sources, join_segments, segment_groups
from prescreen.models import Segment, Source
from prescreen.settings import ChunkingSettings

SMALL = ChunkingSettings(size=120, overlap=20)
WORDS = "Staff reviewed attendance data by subgroup and found gaps. "


def pdf(pages: int) -> Source:
    segments = [Segment(page=i + 1, text=WORDS * 4) for i in range(pages)] + [Segment(page=pages + 1, text="")]
    return Source(id="A1", file="a.pdf", role="artifact", kind="pdf", page_count=pages, segments=segments)


def test_pdf_chunks_never_straddle_pages_and_keep_offsets():
    source = pdf(3)
    chunks = chunk_sources([source], "S-1", SMALL)
    assert {c.page for c in chunks} == {1, 2, 3}
    for c in chunks:
        page_text = source.segments[c.page - 1].text
        assert page_text[c.char_start:c.char_end] == c.text


def test_paragraph_chunks_record_their_paragraph_span():
    source = Source(id="A2", file="p.md", role="artifact", kind="text",
                    segments=[Segment(paragraph=i + 1, text=f"Paragraph {i + 1}. " + WORDS) for i in range(6)])
    chunks = chunk_sources([source], "S-1", SMALL)
    text, _ = join_segments(source, segment_groups(source)[0])
    for c in chunks:
        assert text[c.char_start:c.char_end] == c.text
        assert f"Paragraph {c.paragraph_start}." in c.text or c.text in source.segments[c.paragraph_start - 1].text
        assert c.paragraph_start <= c.paragraph_end
    assert chunks[-1].paragraph_end == 6


def test_transcript_chunks_carry_time_spans():
    cues = [Segment(start=i * 5.0, end=i * 5.0 + 5, text=f"cue {i} " + WORDS) for i in range(8)]
    source = Source(id="A3", file="t.vtt", role="artifact", kind="transcript", segments=cues)
    chunks = chunk_sources([source], "S-1", SMALL)
    assert chunks[0].start == 0 and chunks[-1].end == 40
    assert all(c.start < c.end for c in chunks)


def test_ids_are_content_hashes():
    a = chunk_sources([pdf(2)], "S-1", SMALL)
    b = chunk_sources([pdf(2)], "S-1", SMALL)
    other_submission = chunk_sources([pdf(2)], "S-2", SMALL)
    changed = pdf(2)
    changed.segments[1].text += "A new sentence."
    c = chunk_sources([changed], "S-1", SMALL)
    assert [x.id for x in a] == [x.id for x in b]
    assert not {x.id for x in a} & {x.id for x in other_submission}
    assert {x.id for x in c if x.page == 1} == {x.id for x in a if x.page == 1}
    assert {x.id for x in c if x.page == 2} != {x.id for x in a if x.page == 2}
