"""The citation verifier, shared by every drafter: a quote counts only if it is in the cited source at the cited place.

Matching forgives what copying text out of a PDF or a chat model changes and nothing else: white space, Unicode
compatibility forms (NFKC), curly quotes, dashes, invisible characters (soft hyphens, zero-width spaces) and a
word hyphenated at a line end ("equi-\ntable" is "equitable" or "equi-table"). Case, hyphens and every other
character count: "1215 families" is not "12-15 families".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from prescreen.models import Source
from prescreen.report import Citation, DetailFinding

MIN_QUOTE_WORDS = 3
TIME_TOLERANCE = 1.0  # seconds either side of a cited span: cue boundaries are coarse

_TRANSLATE = str.maketrans(
    {"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"',
     "–": "-", "—": "-", "‒": "-", "―": "-", "‐": "-", "‑": "-", "−": "-",
     "\u00ad": None, "\u200b": None, "\u200c": None, "\u200d": None, "\u2060": None, "\ufeff": None, "\x00": None}
)
BREAK = "\x00"  # stands for a hyphen at a line end: the word goes on on the next line
_LINE_END_HYPHEN = re.compile(r"(?<=\w)-[^\S\n]*\n\s*(?=\w)")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Fold the differences that copying introduces; keep the characters, their case and their order.

    A hyphen at a line end becomes BREAK, which a quote may read as nothing or as a hyphen."""
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    text = _LINE_END_HYPHEN.sub(BREAK, text)
    return _SPACE.sub(" ", text).strip()


@lru_cache(maxsize=4096)
def _quote_pattern(quote: str) -> re.Pattern[str]:
    """The normalised quote as a pattern: a hyphen may be a line-end BREAK, and a BREAK may sit between letters."""
    parts = [f"[-{BREAK}]" if char == "-" else re.escape(char) for char in quote.replace(BREAK, "-")]
    return re.compile(f"{BREAK}?".join(parts))


def quote_in(quote: str, region: str) -> bool:
    """Whether `quote` is a contiguous run of `region`, up to what copying changes (see the module's docstring)."""
    wanted = normalise(quote)
    return bool(wanted) and _quote_pattern(wanted).search(normalise(region)) is not None


def clean_quote(quote: str) -> str:
    """Strip the quotation marks and ellipses a drafter may wrap around a quote."""
    return quote.strip().strip("\"'“”‘’").strip().removeprefix("...").removesuffix("...").strip()


def region_text(source: Source, citation: Citation) -> str | None:
    """The text at the citation's place, or None when the place does not exist in the source."""
    if source.kind == "pdf":
        texts = [s.text for s in source.segments if citation.page is not None and s.page == citation.page]
    elif source.kind == "transcript":
        if citation.start is None:
            return None
        end = citation.end if citation.end is not None else citation.start
        texts = [
            s.text for s in source.segments
            if s.start is not None and s.end is not None
            and s.end >= citation.start - TIME_TOLERANCE and s.start <= end + TIME_TOLERANCE
        ]
    else:
        texts = [
            s.text for s in source.segments if citation.paragraph is not None and s.paragraph == citation.paragraph
        ]
    return " ".join(texts) if texts else None


def check_citation(citation: Citation, sources: dict[str, Source]) -> str | None:
    """None when the citation holds; otherwise why it does not."""
    source = sources.get(citation.artifact_id)
    if source is None:
        return f"{citation.artifact_id} is not a readable file of this submission"
    quote = clean_quote(citation.quote)
    if len(normalise(quote).split()) < MIN_QUOTE_WORDS:
        return f"quote is shorter than {MIN_QUOTE_WORDS} words"
    region = region_text(source, citation)
    if region is None:
        return "the cited place does not exist in the source"
    if not quote_in(quote, region):
        return "quote not found at the cited place"
    return None


def verify_findings(findings: list[DetailFinding], sources: dict[str, Source]) -> list[DetailFinding]:
    """Keep only citations whose quote is at the cited place; count the rest; downgrade what loses its support."""
    verified = []
    for finding in findings:
        kept = [
            c.model_copy(update={"verified": True}) for c in finding.citations if check_citation(c, sources) is None
        ]
        dropped = len(finding.citations) - len(kept)
        update: dict[str, object] = {"citations": kept, "citations_dropped": finding.citations_dropped + dropped}
        if finding.status == "evidenced" and not kept:
            update |= {
                "status": "weak",
                "confidence": min(finding.confidence, 0.5),
                "rationale": f"{finding.rationale} Downgraded to weak: no citation could be verified in the source.",
            }
        verified.append(finding.model_copy(update=update))
    return verified
