"""Build real test files (PDF, DOCX, transcripts, zips, bundles) in a test's tmp_path.

Nothing binary is committed: every test makes the files it reads.
"""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Iterable
from pathlib import Path

import docx
import yaml
from fpdf import FPDF
from PIL import Image, ImageDraw
from pypdf import PdfWriter

_LATIN1 = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u2026": "..."}
)


def make_pdf(
    path: Path,
    pages: list[str],
    *,
    page_labels: list[str] | None = None,
    password: str | None = None,
    owner_password: str | None = None,
    image_pages: Iterable[int] = (),
) -> Path:
    """A PDF with one page per text ("" for a blank page).

    image_pages: 0-based pages drawn as a picture of their text, with no text layer (like a scan).
    page_labels: the printed label of every page. password: needed to open the file;
    owner_password alone: encrypted, but opens without a password.
    """
    pdf = FPDF()
    images = set(image_pages)
    for i, text in enumerate(pages):
        pdf.add_page()
        if i in images:
            pdf.image(_scan_of(text), x=0, y=0, w=pdf.w)
        elif text:
            pdf.set_font("Helvetica", size=11)
            pdf.multi_cell(0, 6, text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1"))
    data = bytes(pdf.output())
    if page_labels or password or owner_password:
        data = _rewrite(data, page_labels, password, owner_password)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(data)
    return Path(path)


def make_image_pdf(path: Path, n_pages: int) -> Path:
    """A PDF whose pages are only images of text: what a scanner produces without OCR."""
    return make_pdf(path, [f"Scanned page {i + 1}" for i in range(n_pages)], image_pages=range(n_pages))


def _scan_of(text: str) -> io.BytesIO:
    image = Image.new("L", (620, 877), color=255)
    ImageDraw.Draw(image).multiline_text((40, 40), text or "(blank)", fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    return buffer


def _rewrite(data: bytes, labels: list[str] | None, password: str | None, owner: str | None) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(data))
    for i, label in enumerate(labels or []):
        writer.set_page_label(i, i, prefix=label)
    if password or owner:
        writer.encrypt(user_password=password or "", owner_password=owner or password, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx(path: Path, blocks: list[tuple[str, str]]) -> Path:
    """A Word file from (kind, text): kind "title", "h1", "h2", "p" or "table" (rows split by
    newlines, cells by "|")."""
    document = docx.Document()
    for kind, text in blocks:
        if kind == "table":
            _add_table(document, [row.split("|") for row in text.split("\n")])
        elif kind in ("title", "h1", "h2"):
            document.add_heading(text, level={"title": 0, "h1": 1, "h2": 2}[kind])
        else:
            document.add_paragraph(text)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return Path(path)


def _add_table(document, rows: list[list[str]]) -> None:
    table = document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
    for cells, row in zip(rows, table.rows, strict=True):
        for text, cell in zip(cells, row.cells, strict=False):
            cell.text = text.strip()


def make_vtt(path: Path, cues: list[tuple[float, float, str]]) -> Path:
    body = "".join(f"{_stamp(a, '.')} --> {_stamp(b, '.')}\n{text}\n\n" for a, b, text in cues)
    return _write(path, "WEBVTT\n\n" + body)


def make_srt(path: Path, cues: list[tuple[float, float, str]]) -> Path:
    body = "".join(f"{n}\n{_stamp(a, ',')} --> {_stamp(b, ',')}\n{text}\n\n" for n, (a, b, text) in enumerate(cues, 1))
    return _write(path, body)


def _stamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def _write(path: Path, content: str | bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def make_zip(path: Path, members: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> Path:
    """A deflated zip with `members` written as given (names are not cleaned: "../x" stays) and
    `symlinks` (entry name -> link target) stored as Unix symbolic links."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return Path(path)


def zip_folder(folder: Path, path: Path, *, top: str | None = None) -> Path:
    """Zip a folder's files, under the top-level folder `top` when given (zip "of the folder")."""
    prefix = f"{top}/" if top else ""
    files = {
        prefix + p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }
    return make_zip(path, files)


def write_bundle(root: Path, manifest: dict, files: dict[str, bytes | str]) -> Path:
    """A bundle folder: submission.yaml (from `manifest`) plus `files` (path -> content)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "submission.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    for relpath, content in files.items():
        _write(root / relpath, content)
    return root
