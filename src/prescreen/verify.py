"""The citation verifier, shared by every drafter: a quote counts only if it is in the cited source at the cited place.

Matching forgives what copying text out of a PDF or a chat model changes (white space, case, curly quotes,
dashes, hyphenation at line ends) and nothing else.
"""

from __future__ import annotations

import re
import unicodedata

from prescreen.models import Source
from prescreen.report import Citation, DetailFinding

MIN_QUOTE_WORDS = 3
TIME_TOLERANCE = 1.0  # seconds either side of a cited span: cue boundaries are coarse

_TRANSLATE = str.maketrans(
    {"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"',
     "–": "-", "—": "-", "‒": "-", "―": "-", "‐": "-", "‑": "-", "…": "...",
     "\u00ad": None, "\u200b": None, "\u200c": None, "\u200d": None, "\ufeff": None}
)
_LINE_END_HYPHEN = re.compile(r"-\s*\n\s*")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Fold the differences that copying introduces; keep the words and their order."""
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    text = _LINE_END_HYPHEN.sub("", text).replace("-", "")
    return _SPACE.sub(" ", text).strip().casefold()


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
        texts = [s.text for s in source.segments if citation.paragraph is not None and s.paragraph == citation.paragraph]
    return " ".join(texts) if texts else None


def check_citation(citation: Citation, sources: dict[str, Source]) -> str | None:
    """None when the citation holds; otherwise why it does not."""
    source = sources.get(citation.artifact_id)
    if source is None:
        return f"{citation.artifact_id} is not a readable file of this submission"
    quote = normalise(clean_quote(citation.quote))
    if len(quote.split()) < MIN_QUOTE_WORDS:
        return f"quote is shorter than {MIN_QUOTE_WORDS} words"
    region = region_text(source, citation)
    if region is None:
        return "the cited place does not exist in the source"
    if quote not in normalise(region):
        return "quote not found at the cited place"
    return None


def verify_findings(findings: list[DetailFinding], sources: dict[str, Source]) -> list[DetailFinding]:
    """Keep only citations whose quote is at the cited place; count the rest; downgrade what loses its support."""
    verified = []
    for finding in findings:
        kept = [c.model_copy(update={"verified": True}) for c in finding.citations if check_citation(c, sources) is None]
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
