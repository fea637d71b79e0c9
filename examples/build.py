"""Build sample submission bundles from plain-text sources.

    python examples/build.py SRC_DIR OUT_DIR     build one bundle
    python examples/build.py --all               rebuild every pair in BUNDLES

The output folder is wiped and rebuilt. What happens to a source file depends on its name:

    NAME.scan.pdf.txt   -> NAME.pdf   image-only PDF (a "scanned" document, no text layer)
    NAME.pdf.txt        -> NAME.pdf   text PDF, one source page = one physical page
    NAME.slides.pdf.txt -> NAME.pdf   text PDF in landscape, one source page = one slide
    NAME.docx.md        -> NAME.docx  Word document
    anything else       -> copied as it is (submission.yaml, *.md, *.txt, *.vtt, *.srt, ...)

PDF sources: pages are separated by a line holding only `<<<PAGE>>>`. A page's first line
starting with `# ` is its bold title; a block of lines starting with `|` is a table (first row
is the header; `|---|` rows are skipped); every other line is a paragraph; a blank line is a
paragraph gap. A page that overflows its physical page is an error, so that page numbers cited
in a self-analysis stay true.

DOCX sources: `# ` Heading 1, `## ` Heading 2, a block of `|` lines is a table (first row bold),
a block whose lines all start with `- ` is a bulleted list, any other blank-line-separated block
is one paragraph (its lines joined with spaces).

Needs fpdf2, python-docx and Pillow (the dev extra). Output is deterministic: fixed creation
dates, fixed zip timestamps in the .docx.
"""

from __future__ import annotations

import io
import re
import shutil
import sys
import unicodedata
import zipfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (source folder, output folder), relative to the repository root. Add a pair per bundle.
BUNDLES: list[tuple[str, str]] = [
    ("examples/sources/lincoln-elementary", "examples/lincoln-elementary"),
    ("examples/sources/harbor-middle", "examples/harbor-middle"),
]
LABELLED = "benchmarks/labelled"  # every LABELLED/sources/<name> is built into LABELLED/<name>


def all_pairs() -> list[tuple[Path, Path]]:
    """The sample bundles, and every labelled bundle found under LABELLED/sources."""
    pairs = [(ROOT / s, ROOT / o) for s, o in BUNDLES]
    sources = sorted(p for p in (ROOT / LABELLED / "sources").iterdir() if (p / "submission.yaml").is_file())
    return pairs + [(src, ROOT / LABELLED / src.name) for src in sources]

FIXED_DATE = datetime(2026, 1, 1, tzinfo=timezone.utc)
PAGE_BREAK = "<<<PAGE>>>"
_ASCII = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2032": "'", "\u2033": '"',
    "\u2013": "-", "\u2014": "--", "\u2015": "--", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2022": "-", "\u2192": "->",
    "\u2264": "<=", "\u2265": ">=", "\u2248": "~",
}


class BuildError(Exception):
    """A source that cannot be built as written; the message names the file."""


# ---------------------------------------------------------------- shared text handling


def latin1(text: str) -> str:
    """Text the core PDF fonts can draw: typographic punctuation becomes ASCII."""
    text = "".join(_ASCII.get(ch, ch) for ch in text)
    if all(ord(ch) < 256 for ch in text):
        return text
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in folded if ord(ch) < 256 and not unicodedata.combining(ch))


def split_pages(text: str) -> list[str]:
    pages = re.split(rf"^[ \t]*{re.escape(PAGE_BREAK)}[ \t]*$", text, flags=re.M)
    return [page.strip("\n") for page in pages]


def table_rows(lines: list[str]) -> list[list[str]]:
    """Markdown-ish table lines -> rows of cell text, separator rows dropped."""
    rows = []
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c) and any(cells):
            continue
        rows.append(cells)
    width = max(len(r) for r in rows)
    return [r + [""] * (width - len(r)) for r in rows]


def page_blocks(page: str) -> list[tuple[str, object]]:
    """A page's lines as blocks: ('title', str), ('para', str), ('gap', None), ('table', rows)."""
    lines = page.split("\n")
    blocks: list[tuple[str, object]] = []
    if lines and lines[0].startswith("# "):
        blocks.append(("title", lines.pop(0)[2:].strip()))
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("|"):
            j = i
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                j += 1
            blocks.append(("table", table_rows(lines[i:j])))
            i = j
            continue
        blocks.append(("gap", None) if not line.strip() else ("para", line.strip()))
        i += 1
    return blocks


# ---------------------------------------------------------------- text PDF


def new_pdf(title: str, orientation: str = "portrait"):
    from fpdf import FPDF

    pdf = FPDF(orientation=orientation, format="letter", unit="mm")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(latin1(title))
    pdf.set_creator("prescreen examples/build.py")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=18)
    return pdf


def draw_table(pdf, rows: list[list[str]]) -> None:
    pdf.set_font("Helvetica", size=9)
    with pdf.table(
        text_align="LEFT", line_height=4.6, padding=1.2, first_row_as_headings=True,
        headings_style=_bold_style(),
    ) as table:
        for row in rows:
            table_row = table.row()
            for cell in row:
                table_row.cell(latin1(cell))
    pdf.ln(2)


def _bold_style():
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", fill_color=(230, 230, 230))


def draw_page(pdf, blocks: list[tuple[str, object]]) -> None:
    for kind, value in blocks:
        if kind == "title":
            pdf.set_font("Helvetica", style="B", size=15)
            pdf.multi_cell(0, 7.5, latin1(value), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2.5)
        elif kind == "table":
            draw_table(pdf, value)
        elif kind == "gap":
            pdf.ln(2.6)
        else:
            pdf.set_font("Helvetica", size=10.5)
            pdf.multi_cell(0, 5.2, latin1(value), new_x="LMARGIN", new_y="NEXT")


def build_text_pdf(src: Path, dest: Path, orientation: str = "portrait") -> None:
    pages = split_pages(src.read_text(encoding="utf-8"))
    pdf = new_pdf(dest.stem, orientation)
    for number, page in enumerate(pages, start=1):
        pdf.add_page()
        draw_page(pdf, page_blocks(page))
        if pdf.page != number:
            raise BuildError(f"{src}: source page {number} does not fit on one PDF page; shorten it")
    pdf.output(str(dest))


# ---------------------------------------------------------------- image-only ("scanned") PDF

SCAN_SIZE = (1275, 1650)  # US Letter at 150 dpi
SCAN_MARGIN = 110


def scan_font(size: int, bold: bool = False):
    from PIL import ImageFont

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/Library/Fonts"):
        path = Path(folder) / name
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def wrap(text: str, font, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and font.getlength(trial) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return lines + [line] if line else lines or [""]


def draw_scan_table(draw, rows: list[list[str]], y: int, font, bold) -> int:
    """A ruled table, columns as wide as their text, header row in bold; returns the y below it."""
    width, height = SCAN_SIZE[0] - 2 * SCAN_MARGIN, int(font.size * 1.7)
    natural = [max(bold.getlength(latin1(row[c])) for row in rows) + 20 for c in range(len(rows[0]))]
    xs = [SCAN_MARGIN]
    for w in natural:
        xs.append(xs[-1] + w * width / sum(natural))
    draw.line((SCAN_MARGIN, y, SCAN_MARGIN + width, y), fill=90, width=2)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            draw.text((xs[c] + 8, y + 6), latin1(cell), fill=38, font=bold if r == 0 else font)
        y += height
        draw.line((SCAN_MARGIN, y, SCAN_MARGIN + width, y), fill=90, width=2 if r == 0 else 1)
    for x in xs:
        draw.line((x, y - height * len(rows), x, y), fill=90, width=1)
    return y + 10


def render_scan_page(blocks: list[tuple[str, object]]):
    from PIL import Image, ImageDraw

    image = Image.new("L", SCAN_SIZE, 244)
    draw = ImageDraw.Draw(image)
    body, bold, title = scan_font(22), scan_font(22, bold=True), scan_font(30, bold=True)
    width, y = SCAN_SIZE[0] - 2 * SCAN_MARGIN, SCAN_MARGIN
    for kind, value in blocks:
        if kind == "gap":
            y += 14
        elif kind == "table":
            y = draw_scan_table(draw, value, y, body, bold)
        else:
            font = title if kind == "title" else body
            for line in wrap(latin1(value), font, width):
                draw.text((SCAN_MARGIN, y), line, fill=38, font=font)
                y += int(font.size * 1.45)
        if y > SCAN_SIZE[1] - SCAN_MARGIN:
            raise BuildError("scanned page overflows; shorten it")
    return image.rotate(0.6, resample=Image.BICUBIC, fillcolor=244)


def build_scan_pdf(src: Path, dest: Path) -> None:
    pdf = new_pdf(dest.stem)
    pdf.set_auto_page_break(False)
    for number, page in enumerate(split_pages(src.read_text(encoding="utf-8")), start=1):
        try:
            image = render_scan_page(page_blocks(page))
        except BuildError as err:
            raise BuildError(f"{src}: page {number}: {err}") from None
        pdf.add_page()
        pdf.image(image, x=0, y=0, w=pdf.w, h=pdf.h)
    pdf.output(str(dest))


# ---------------------------------------------------------------- DOCX


def docx_blocks(text: str) -> list[list[str]]:
    """Blank-line-separated blocks; a heading line always stands alone."""
    blocks, block = [], []
    for line in text.split("\n"):
        if not line.strip() or line.startswith("#"):
            if block:
                blocks.append(block)
            block = [line] if line.strip() else []
            if line.startswith("#"):
                blocks.append(block)
                block = []
            continue
        block.append(line.rstrip())
    return blocks + [block] if block else blocks


def add_docx_table(document, rows: list[list[str]]) -> None:
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            cell = table.cell(r, c)
            cell.text = ""
            run = cell.paragraphs[0].add_run(text)
            run.bold = r == 0


def add_docx_block(document, block: list[str]) -> None:
    first = block[0]
    if first.startswith("## "):
        document.add_heading(first[3:].strip(), level=2)
    elif first.startswith("# "):
        document.add_heading(first[2:].strip(), level=1)
    elif all(line.lstrip().startswith("|") for line in block):
        add_docx_table(document, table_rows(block))
    elif all(line.startswith("- ") for line in block):
        for line in block:
            document.add_paragraph(line[2:].strip(), style="List Bullet")
    else:
        document.add_paragraph(" ".join(line.strip() for line in block))


def build_docx(src: Path, dest: Path) -> None:
    import docx

    document = docx.Document()
    props = document.core_properties
    props.title, props.author, props.last_modified_by = dest.stem, "", ""
    props.created = props.modified = props.last_printed = FIXED_DATE.replace(tzinfo=None)
    props.revision = 1
    for block in docx_blocks(src.read_text(encoding="utf-8")):
        add_docx_block(document, block)
    buffer = io.BytesIO()
    document.save(buffer)
    dest.write_bytes(fixed_zip_times(buffer.getvalue()))


def fixed_zip_times(data: bytes) -> bytes:
    """Rewrite a zip with every entry dated FIXED_DATE, so the same source gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=FIXED_DATE.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, zin.read(item.filename))
    return out.getvalue()


# ---------------------------------------------------------------- bundles

def build_slides_pdf(src: Path, dest: Path) -> None:
    build_text_pdf(src, dest, orientation="landscape")


_RULES = [(".scan.pdf.txt", ".pdf", build_scan_pdf), (".slides.pdf.txt", ".pdf", build_slides_pdf),
          (".pdf.txt", ".pdf", build_text_pdf),
          (".docx.md", ".docx", build_docx)]


def build_file(src: Path, out_dir: Path, rel: Path) -> Path:
    for suffix, new_suffix, builder in _RULES:
        if src.name.endswith(suffix):
            dest = out_dir / rel.parent / (src.name[: -len(suffix)] + new_suffix)
            dest.parent.mkdir(parents=True, exist_ok=True)
            builder(src, dest)
            return dest
    dest = out_dir / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


def build_bundle(src_dir: Path, out_dir: Path) -> list[Path]:
    src_dir, out_dir = src_dir.resolve(), out_dir.resolve()
    if not (src_dir / "submission.yaml").is_file():
        raise BuildError(f"{src_dir}: no submission.yaml")
    if out_dir == src_dir or out_dir in src_dir.parents or out_dir == ROOT:
        raise BuildError(f"refusing to wipe {out_dir}: it holds the sources")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    built = []
    for src in sorted(p for p in src_dir.rglob("*") if p.is_file()):
        rel = src.relative_to(src_dir)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        built.append(build_file(src, out_dir, rel))
    return built


def main(argv: list[str]) -> int:
    if argv == ["--all"]:
        pairs = all_pairs()
    elif len(argv) == 2:
        pairs = [(Path(argv[0]).resolve(), Path(argv[1]).resolve())]
    else:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        for src_dir, out_dir in pairs:
            built = build_bundle(src_dir, out_dir)
            print(f"{out_dir.relative_to(ROOT) if out_dir.is_relative_to(ROOT) else out_dir}: {len(built)} files")
    except BuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
