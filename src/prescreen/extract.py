"""Turn one file of a bundle into text with provenance: PDF pages, paragraphs, transcript cues.

Every failure is an ExtractionError whose `kind` is one of the report's problem kinds and whose
message tells the earner what is wrong and how to fix it.
"""

from __future__ import annotations

import codecs
import html
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Literal

import docx
import webvtt
from docx.document import Document as DocxDocument
from docx.table import Table, _Row
from docx.text.paragraph import Paragraph
from markdown_it import MarkdownIt
from pydantic import BaseModel, Field
from pypdf import PdfReader
from webvtt.errors import MalformedCaptionError, MalformedFileError

from prescreen.bundle import check_package, resolve_member
from prescreen.errors import BundleError, ExtractionError, UnsafeArchiveError
from prescreen.models import Segment, Source, SourceKind
from prescreen.settings import LimitSettings

MIB = 1024 * 1024
KINDS: dict[str, SourceKind] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".md": "text",
    ".txt": "text",
    ".vtt": "transcript",
    ".srt": "transcript",
}
_HINTS = {
    "save it as .docx or export it as PDF": (".doc", ".docm", ".rtf", ".odt", ".pages", ".wpd"),
    "export it as PDF": (
        ".ppt", ".pptx", ".key", ".odp", ".xls", ".xlsx", ".numbers", ".ods", ".htm", ".html", ".epub",
    ),
    "upload a transcript (.vtt or .srt) of the recording instead": (
        ".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".wmv",
        ".mp3", ".m4a", ".wav", ".aac", ".ogg", ".flac", ".wma",
    ),
    "export it as PDF with a text layer (run OCR on a scan)": (
        ".png", ".jpg", ".jpeg", ".gif", ".heic", ".heif", ".tif", ".tiff", ".bmp", ".webp",
    ),
    "unzip it and list the files it holds": (".zip",),
}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class Extracted(BaseModel):
    """What a reader returns: the fields of Source that depend on the file's content."""

    segments: list[Segment]
    page_count: int | None = None
    blank_pages: list[int] = Field(default_factory=list)
    comments: list[str] = Field(default_factory=list)
    unread: list[str] = Field(default_factory=list)


def extract_source(
    root: Path,
    relpath: str,
    *,
    source_id: str,
    title: str,
    role: Literal["artifact", "part"],
    limits: LimitSettings,
) -> Source:
    """Read `relpath` (relative to the bundle root) as text; ExtractionError if it cannot be read."""
    path = _locate(root, relpath, limits)
    suffix = path.suffix.lower()
    extracted = _READERS[suffix](path, limits)
    if not any(s.text.strip() for s in extracted.segments):
        raise ExtractionError("no_text", "the file holds no text: check that it is the right file")
    return Source(
        id=source_id,
        file=relpath,
        title=title,
        role=role,
        kind=KINDS[suffix],
        segments=extracted.segments,
        page_count=extracted.page_count,
        blank_pages=extracted.blank_pages,
        comments=extracted.comments,
        unread=extracted.unread,
    )


def _locate(root: Path, relpath: str, limits: LimitSettings) -> Path:
    """The file on disk, checked for place, type and size before anything reads it."""
    try:
        path = resolve_member(root, relpath)
    except BundleError as exc:
        raise ExtractionError("unreadable", f"path leaves the bundle: {exc}") from None
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "is not in the bundle"
        raise ExtractionError("missing_file", f"{relpath} {what}: check the path in submission.yaml")
    if path.suffix.lower() not in KINDS:
        raise ExtractionError("unsupported_type", _unsupported_message(path.suffix.lower()))
    size = path.stat().st_size
    if size > limits.max_file_mb * MIB:
        raise ExtractionError(
            "too_large",
            f"the file is {_size(size)}, more than the limit of {_size(limits.max_file_mb * MIB)}: "
            "make it smaller (split it, or compress its images) and upload it again",
        )
    if size == 0:
        raise ExtractionError("no_text", "the file is empty: upload it again")
    return path


def _unsupported_message(suffix: str) -> str:
    hint = next((h for h, suffixes in _HINTS.items() if suffix in suffixes), "convert it to a supported type")
    what = f"{suffix} files are" if suffix else "a file without an extension is"
    return f"{what} not supported: {hint} (supported: {', '.join(KINDS)})"


def _size(n: float) -> str:
    return f"{n / MIB:.1f} MB" if n >= MIB / 10 else f"{n / 1024:.1f} KB"


def _tidy(text: str) -> str:
    """Strip trailing spaces from every line (and the text's trailing blank lines); keep line breaks."""
    return re.sub(r"[^\S\n]+(?=\n|$)", "", text).rstrip("\n")


# ---------------------------------------------------------------- PDF


def _read_pdf(path: Path, limits: LimitSettings) -> Extracted:
    data = path.read_bytes()
    if b"%PDF-" not in data[:1024]:
        raise ExtractionError("unreadable", "the file is not a PDF although it is named .pdf: export it as PDF again")
    try:
        reader = PdfReader(io.BytesIO(data))
        _unlock(reader)
        return _pdf_pages(reader)
    except ExtractionError:
        raise
    except Exception as exc:  # pypdf raises many kinds on malformed files: this is the boundary
        raise ExtractionError(
            "unreadable", f"the PDF is damaged and cannot be read ({exc}): export or download it again"
        ) from exc


def _unlock(reader: PdfReader) -> None:
    """Open a PDF protected only by an owner password (no password to read); refuse one that needs one."""
    if reader.is_encrypted and not reader.decrypt(""):
        raise ExtractionError("unreadable", "the PDF is encrypted: remove the password and upload it again")


def _pdf_pages(reader: PdfReader) -> Extracted:
    labels = _page_labels(reader)
    segments, scanned = [], []
    for number, page in enumerate(reader.pages, start=1):
        text = _tidy(page.extract_text() or "")
        if not text.strip() and len(page.images) > 0:
            scanned.append(number)
        segments.append(Segment(text=text, page=number, page_label=labels[number - 1] if labels else None))
    if not any(s.text.strip() for s in segments):
        fix = "it looks scanned: run OCR on it" if scanned else "export it again from the program that made it"
        raise ExtractionError("no_text", f"the PDF has no text layer; {fix}, and upload it again")
    return Extracted(segments=segments, page_count=len(segments), blank_pages=scanned)


def _page_labels(reader: PdfReader) -> list[str] | None:
    """The printed page labels, or None when the PDF defines none (labels are just 1, 2, 3 ...)."""
    labels = list(reader.page_labels)
    plain = [str(n) for n in range(1, len(labels) + 1)]
    return None if labels == plain else labels


# ---------------------------------------------------------------- paragraphs (DOCX, Markdown, text)

Block = tuple[Literal["heading", "para", "row"], str]


def number_paragraphs(blocks: Iterable[Block]) -> list[Segment]:
    """One numbering, as a reader counts (bundle spec): every non-empty heading and paragraph is numbered
    1, 2, 3 ...; a table row is not numbered, it belongs to the paragraph before it; a heading names the
    section of itself and of what follows."""
    segments: list[Segment] = []
    section = None
    for kind, raw in blocks:
        text = _tidy(raw).strip()
        if not text:
            continue
        if kind == "row" and segments:
            last = segments[-1]
            segments[-1] = last.model_copy(update={"text": f"{last.text}\n{text}"})
            continue
        if kind == "heading":
            section = " ".join(text.split())
        segments.append(Segment(text=text, paragraph=len(segments) + 1, section=section))
    return segments


# ---------------------------------------------------------------- DOCX


def _read_docx(path: Path, limits: LimitSettings) -> Extracted:
    with path.open("rb") as f:
        if f.read(len(_OLE_MAGIC)) == _OLE_MAGIC:
            raise ExtractionError(
                "unreadable",
                "the Word file is encrypted, or is an old .doc renamed: remove the password, "
                "save it as .docx and upload it again",
            )
    _check_package_size(path, limits)
    try:
        document = docx.Document(str(path))
        blocks = list(_docx_blocks(document))
        comments = [text for c in document.comments if (text := " ".join(c.text.split()))]
    except Exception as exc:  # python-docx, lxml and zipfile errors on a damaged file: this is the boundary
        raise ExtractionError(
            "unreadable", f"the Word file is damaged or not a .docx ({exc}): save it again as .docx or export it as PDF"
        ) from exc
    return Extracted(segments=number_paragraphs(blocks), comments=comments)


def _check_package_size(path: Path, limits: LimitSettings) -> None:
    """A .docx is a zip: read it through, counting what it really unpacks to, before any XML parser does."""
    try:
        check_package(path, limits)
    except UnsafeArchiveError as exc:
        raise ExtractionError(
            "too_large", f"the Word file is too large once unpacked ({exc}): export it as PDF"
        ) from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExtractionError(
            "unreadable", f"the file is not a valid .docx ({exc}): save it again as .docx or export it as PDF"
        ) from exc


def _docx_blocks(document: DocxDocument) -> Iterator[Block]:
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            yield from (("row", _row_text(row)) for row in item.rows)
        elif isinstance(item, Paragraph):
            yield ("heading" if _is_heading(item) else "para", item.text)


def _is_heading(paragraph: Paragraph) -> bool:
    style = paragraph.style
    names = (style.name or "", style.style_id or "") if style is not None else ()
    return any(name.startswith(("Heading", "Title")) for name in names)


def _row_text(row: _Row) -> str:
    """A table row as one line: its cells' texts joined with ' | ', merged cells once."""
    seen, texts = set(), []
    for cell in row.cells:
        if id(cell._tc) in seen or cell._tc.getparent() is not row._tr:  # a span, or a vertical merge
            continue
        seen.add(id(cell._tc))
        if text := " ".join(cell.text.split()):
            texts.append(text)
    return " | ".join(texts)


# ---------------------------------------------------------------- Markdown and plain text


def _read_plain(path: Path, limits: LimitSettings) -> Extracted:
    text = read_text(path)
    return Extracted(segments=number_paragraphs(("para", "\n".join(lines)) for _, lines in _line_blocks(text)))


def read_text(path: Path) -> str:
    """The file's text, as the extractor reads it: UTF-8 (with or without a BOM), UTF-16 with a BOM,
    else Windows-1252; line ends made `\\n`. ExtractionError("unreadable") for binary or undecodable data."""
    data = path.read_bytes()
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if b"\x00" in data and not utf16:
        raise ExtractionError("unreadable", "the file holds binary data, not text: check that it is the right file")
    for encoding in ("utf-16",) if utf16 else ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError:
            continue
    raise ExtractionError("unreadable", "the text cannot be decoded: save it as UTF-8 and upload it again")


def _line_blocks(text: str) -> list[tuple[int, list[str]]]:
    """Runs of non-blank lines between blank lines: (first line's index, the lines)."""
    blocks: list[tuple[int, list[str]]] = []
    for number, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        if blocks and blocks[-1][0] + len(blocks[-1][1]) == number:
            blocks[-1][1].append(line)
        else:
            blocks.append((number, [line]))
    return blocks


_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _read_markdown(path: Path, limits: LimitSettings) -> Extracted:
    """Paragraphs numbered as the spec counts them (blank-line blocks, a lone heading included); their
    text as a CommonMark parser renders it (markdown-it-py: linear time, source line maps)."""
    text = read_text(path)
    pieces = _markdown_pieces(text)
    segments: list[Segment] = []
    section = None
    for first, lines in _line_blocks(text):
        inside = [piece for line, piece in pieces if first <= line < first + len(lines)]
        if headings := [words for kind, words in inside if kind == "heading"]:
            section = " ".join(headings[-1].split())
        body = _tidy("\n".join(words for _, words in inside)).strip()
        segments.append(Segment(text=body, paragraph=len(segments) + 1, section=section))
    return Extracted(segments=segments)


def _markdown_pieces(text: str) -> list[tuple[int, tuple[str, str]]]:
    """(source line, (kind, plain text)) for every heading, paragraph line group, table row and code block."""
    pieces: list[tuple[int, tuple[str, str]]] = []
    tokens = _MARKDOWN.parse(text)
    row: list[str] = []
    row_line = 0  # the row's source line, set with each cell, so always set once the row holds words
    for i, token in enumerate(tokens):
        if token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and any(row):
            pieces.append((row_line, ("row", " | ".join(c for c in row if c))))
        elif token.type == "inline" and token.map is not None:
            plain = _inline_text(token)
            if tokens[i - 1].type in ("th_open", "td_open"):
                row.append(" ".join(plain.split()))
                row_line = token.map[0]
            elif plain.strip():
                kind = "heading" if tokens[i - 1].type == "heading_open" else "para"
                pieces.append((token.map[0], (kind, plain.strip())))
        elif token.type in ("fence", "code_block") and token.map is not None and token.content.strip():
            pieces.append((token.map[0], ("para", token.content.strip("\n"))))
    return pieces


def _inline_text(token) -> str:
    """An inline token's words: text, code and image alt text; soft and hard breaks as line breaks."""
    out = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif child.type == "image":
            out.append(child.content)
    return "".join(out)


# ---------------------------------------------------------------- transcripts


def _read_vtt(path: Path, limits: LimitSettings) -> Extracted:
    return _read_transcript(path, "vtt")


def _read_srt(path: Path, limits: LimitSettings) -> Extracted:
    return _read_transcript(path, "srt")


def _read_transcript(path: Path, fmt: Literal["vtt", "srt"]) -> Extracted:
    text = read_text(path)
    try:
        captions = webvtt.from_buffer([text], format=fmt).captions
    except (MalformedFileError, MalformedCaptionError, ValueError) as exc:
        raise ExtractionError(
            "unreadable", f"the transcript is not valid .{fmt} ({exc}): export it again as .vtt or .srt"
        ) from exc
    segments = [
        Segment(text=words, start=c.start_time.in_milliseconds() / 1000, end=c.end_time.in_milliseconds() / 1000)
        for c in captions
        if (words := _cue_text(c.text))
    ]
    if not segments:
        raise ExtractionError("no_text", "the transcript holds no cues with text: export it again")
    return Extracted(segments=segments, unread=impossible_times(text))


_TIMING = re.compile(r"^[ \t]*(\S+)[ \t]+-->[ \t]+(\S+)", re.M)


def impossible_times(text: str) -> list[str]:
    """Cue timings a reader cannot follow (minutes or seconds past 59, `99:99:99.999`): the cue is lost."""
    bad = []
    for match in _TIMING.finditer(text):
        fields = [f for stamp in match.groups() for f in stamp.replace(",", ".").split(":")[-2:]]
        if any(not f.replace(".", "").isdigit() or float(f) >= 60 for f in fields):
            line = text.count("\n", 0, match.start()) + 1
            bad.append(f"line {line}: {match.group(0).strip()}")
    return bad


def _cue_text(text: str) -> str:
    """A cue's words on one line: tags (already removed by webvtt), SRT {\\an8} tags and entities resolved."""
    text = html.unescape(re.sub(r"\{\\[^}]*\}", "", text))
    return " ".join(text.split())


_READERS: dict[str, Callable[[Path, LimitSettings], Extracted]] = {
    ".pdf": _read_pdf,
    ".docx": _read_docx,
    ".md": _read_markdown,
    ".txt": _read_plain,
    ".vtt": _read_vtt,
    ".srt": _read_srt,
}
