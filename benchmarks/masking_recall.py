"""Masking recall: how much of the personal data in the labelled bundles survives de-identification.

    python benchmarks/masking_recall.py                # dev and test
    python benchmarks/masking_recall.py --split test   # one split
    python benchmarks/masking_recall.py -v             # and every missed occurrence, every over-masked word

Each labelled bundle's texts are masked the way the review service masks what an assessor reads: every
segment (PDF page, paragraph, transcript cue) of every part and artifact prescreen can read, every
self-analysis explanation and locator and every artifact title, one at a time, through the service's
entry point (`review.blind.Masker(default_deidentify(), identity_terms(manifest))`: deidentify, then the
earner's identity terms again), without `names_from`: the service masks passages one by one and never
hands deidentify the submission's other texts.

Name labels (`benchmarks/labelled/<bundle>.names.yaml`) were written by reading the extracted texts,
never from prescreen's masking output:

    bundle: benchmarks/labelled/<bundle>      # or examples/<sample>
    names: [Teresa Villanueva, Villanueva, Park]   # every personal name, as it occurs
    emails: [dana@example.org]
    phones: ["(555) 318-2207"]

Labelling rule:
- A personal name is the name of a person: the earner, staff, students, parents, board members,
  partners, interpreters; a full name, a surname or a first name as it stands in the text, in any case
  ("OSEI:" speaker labels too). Initials are not labelled ("R." of "R. Castellanos"): only the name.
- Names of published authors or public figures cited for their ideas ("Zaretta Hammond's book") are
  listed apart (`public`): masking them is neither required nor counted as over-masking.
- Not personal names: schools, districts, places, organizations and programs, even when named after a
  person ("Lincoln Elementary", "Valle Verde Community Center", "Willow Creek Buddy"), languages and
  groups ("Karen-speaking"). A person's own name inside such a name would be labelled; none occurs.
- Only what an assessor can read counts: the text prescreen extracts. WebVTT voice tags
  (`<v Jaya Amari>`) are dropped by the extractor, and unreadable files show nothing, so names that
  stand only there are not labelled.

Scoring. An occurrence of a labelled name is found case-insensitively as a whole word (a Capitalized
or UPPER-case one: "grace" the word is not "Grace"), longer labels first. It is masked when none of its
words survives: each lies wholly inside a placeholder's span. Emails and phones likewise. Over-masking:
words replaced by a placeholder that belong to no labelled occurrence, leaving out `[ORGANIZATION]`
(the earner's organization is masked on purpose) and titles ("Ms." of "Ms. Pham"); "common" ones are English words
(pyspellchecker's count at or over 200), the ones whose loss hurts the evidence most.

Measured (40 bundles labelled: dev 25, test 15; no email or phone in the test split's texts):

    names recall           dev 0.846 (463/547) -> 0.978 (535/547)   test 0.500 (108/216) -> 0.986 (213/216)
    over-masked / 1,000 w  dev 0.35            -> 0.70              test 0.04            -> 1.03
    emails, phones         dev 1/1, 1/1 before and after

"before": the name lists alone (Faker's first names, titles, surnames seen after them); "after": with
spaCy's NER, speaker labels, initials and names next to a found one (review/deidentify.py). Tuned on dev
only. Handing deidentify the submission's other texts (`names_from`) would add dev 0.985, test 0.995.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from prescreen.bundle import read_manifest
from prescreen.errors import ExtractionError
from prescreen.extract import extract_source
from prescreen.models import Manifest
from prescreen.review.blind import Masker, default_deidentify, identity_terms
from prescreen.settings import LimitSettings
from prescreen.train import load_labels

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "benchmarks" / "labelled"
KINDS = ("names", "emails", "phones")
_PLACEHOLDER = re.compile(r"\[(EARNER|ORGANIZATION|EMAIL|PHONE|PERSON|REDACTED|redacted)\]")
_WORD = re.compile(r"[^\W\d_]{2,}")
_KNOWN_WORD_MIN_FREQUENCY = 200
_TITLES = {"Mr", "Mrs", "Ms", "Mx", "Dr", "Sra", "Sr", "Srta", "MR", "MRS", "MS", "DR"}  # "Ms. Pham" -> "[PERSON]"


class NameLabels(BaseModel):
    """Every personal name, email address and phone number an assessor could read in one bundle."""

    model_config = ConfigDict(extra="forbid")

    bundle: str = Field(description="The bundle's folder, relative to the repository root.")
    names: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    public: list[str] = Field(
        default_factory=list, description="Cited authors and public figures: neither scored nor counted as over-masked."
    )


# ---------------------------------------------------------------- what an assessor reads


def bundle_texts(root: Path, manifest: Manifest) -> list[str]:
    """The texts the review service masks one by one: segments, explanations, locators, titles."""
    sources = [(pid, rel, "part", "") for pid, rel in manifest.parts.items()]
    sources += [(a.id, a.file, "artifact", a.title) for a in manifest.artifacts]
    texts = [title for *_, title in sources if title]
    for source_id, rel, role, title in sources:
        try:
            source = extract_source(root, rel, source_id=source_id, title=title, role=role, limits=LimitSettings())
        except ExtractionError:
            continue  # unreadable: an assessor sees no text of it
        texts += [s.text for s in source.segments]
    for entry in manifest.self_analysis:
        texts.append(entry.explanation or "")
        texts += [ref.locator for ref in entry.evidence or [] if ref.locator]
    return [t for t in texts if t.strip()]


def service_masker(manifest: Manifest) -> Callable[[str], str]:
    """The review service's masker for one submission: deidentify, then the earner's identity again."""
    return Masker(default_deidentify(), identity_terms(manifest))


# ---------------------------------------------------------------- where the masks fell


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str = ""

    def covers(self, start: int, end: int) -> bool:
        return self.start <= start and end <= self.end


def masked_spans(original: str, masked: str) -> list[Span]:
    """The spans of `original` that placeholders replaced (the text between placeholders is unchanged)."""
    pieces, kinds = _PLACEHOLDER.split(masked)[::2], _PLACEHOLDER.findall(masked)
    spans, start = [], len(pieces[0])
    for k, (kind, literal) in enumerate(zip(kinds, pieces[1:], strict=True)):
        if k == len(kinds) - 1:
            end = len(original) - len(literal)
        elif not literal:
            continue  # two placeholders side by side: one span
        else:
            end = original.find(literal, start + 1)
        spans.append(Span(start, end, kind))
        start = end + len(literal)
    return spans


def _label_pattern(label: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(w) for w in label.split())
    return re.compile(rf"(?<![\w@.\-]){body}(?![\w@]|[.\-]\w)", re.IGNORECASE)


def occurrences(text: str, labels: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping places of the labels in `text`, longer labels first; lowercase look-alikes skipped."""
    found: list[tuple[int, int]] = []
    for label in sorted(set(labels), key=len, reverse=True):
        for m in _label_pattern(label).finditer(text):
            if m.group()[0].islower() and label[0].isupper():
                continue
            if not any(s < m.end() and m.start() < e for s, e in found):
                found.append(m.span())
    return found


def _survives(text: str, start: int, end: int, spans: list[Span]) -> bool:
    """Some word (or, for a phone, some digit run) of text[start:end] is not wholly inside a mask."""
    parts = list(re.finditer(r"\w+", text[start:end]))
    return any(not any(s.covers(start + p.start(), start + p.end()) for s in spans) for p in parts)


# ---------------------------------------------------------------- tallies


def _in_context(text: str, start: int, end: int) -> str:
    return repr(f"…{text[max(0, start - 40):start]}«{text[start:end]}»{text[end:end + 30]}…")


@dataclass
class Tally:
    found: Counter[str] = field(default_factory=Counter)
    masked: Counter[str] = field(default_factory=Counter)
    words: int = 0
    over: Counter[str] = field(default_factory=Counter)
    missed: list[str] = field(default_factory=list)
    over_places: list[str] = field(default_factory=list)

    def add_text(self, original: str, masked: str, labels: NameLabels) -> None:
        spans = masked_spans(original, masked)
        labelled: list[tuple[int, int]] = []
        for kind in KINDS:
            for start, end in occurrences(original, getattr(labels, kind)):
                labelled.append((start, end))
                self.found[kind] += 1
                if _survives(original, start, end, spans):
                    self.missed.append(f"{kind}: {_in_context(original, start, end)} -> {masked[:200]!r}")
                else:
                    self.masked[kind] += 1
        labelled += occurrences(original, labels.public)
        self.words += len(_WORD.findall(original))
        for span in (s for s in spans if s.kind != "ORGANIZATION"):
            for w in _WORD.finditer(original, span.start, span.end):
                if w.group() not in _TITLES and not any(s <= w.start() and w.end() <= e for s, e in labelled):
                    self.over[w.group()] += 1
                    self.over_places.append(f"{w.group()}: {_in_context(original, w.start(), w.end())}")

    def summary(self, known: Callable[[str], bool]) -> dict[str, float]:
        out: dict[str, float] = {}
        for kind in KINDS:
            out[f"{kind}_found"] = self.found[kind]
            out[f"{kind}_recall"] = self.masked[kind] / self.found[kind] if self.found[kind] else float("nan")
        total = sum(self.found.values())
        out["recall"] = sum(self.masked.values()) / total if total else float("nan")
        over, common = sum(self.over.values()), sum(c for w, c in self.over.items() if known(w))
        out["over_masked_words"], out["over_masked_common_words"] = over, common
        out["over_masked_per_1000_words"] = 1000 * over / self.words if self.words else 0.0
        out["words"] = self.words
        return out


def known_word_test() -> Callable[[str], bool]:
    from spellchecker import SpellChecker

    counts = SpellChecker().word_frequency
    return lambda word: counts[word.lower()] >= _KNOWN_WORD_MIN_FREQUENCY


# ---------------------------------------------------------------- bundles and splits


def name_label_files() -> list[Path]:
    return sorted(LABELLED.glob("*.names.yaml"))


def splits_by_bundle() -> dict[str, str]:
    """bundle path -> split, from the answer keys' authors (benchmarks/labelled/splits.yaml)."""
    splits = yaml.safe_load((LABELLED / "splits.yaml").read_text())
    keys = sorted((ROOT / "examples" / "labels").glob("*.yaml")) + sorted(LABELLED.glob("*.labels.yaml"))
    out = {}
    for path in keys:
        labels = load_labels(path)
        author = labels["author"]
        out[labels["bundle"]] = next((s for s, authors in splits.items() if author in map(str, authors)), "dev")
    return out


def score_bundle(labels: NameLabels, tally: Tally) -> None:
    root = ROOT / labels.bundle
    manifest = read_manifest(root)
    mask = service_masker(manifest)
    for text in bundle_texts(root, manifest):
        tally.add_text(text, mask(text), labels)


def print_split(name: str, n: int, tally: Tally, known: Callable[[str], bool], verbose: bool) -> None:
    s = tally.summary(known)
    print(f"\n== {name}: {n} bundles, {s['words']:.0f} words")
    for kind in KINDS:
        print(f"  {kind:<7} recall {s[f'{kind}_recall']:.3f}  ({tally.masked[kind]}/{s[f'{kind}_found']:.0f})")
    print(f"  all     recall {s['recall']:.3f}")
    print(f"  over-masked words {s['over_masked_words']:.0f} ({s['over_masked_per_1000_words']:.2f} per 1,000 words),"
          f" of them common English words {s['over_masked_common_words']:.0f}")
    common = [f"{w}×{c}" for w, c in tally.over.most_common() if known(w)]
    print("  common words masked: " + (", ".join(common[:25]) or "none"))
    if verbose:
        print("  other words masked: " + ", ".join(f"{w}×{c}" for w, c in tally.over.most_common() if not known(w)))
        print("  missed:\n    " + "\n    ".join(tally.missed or ["none"]))
        print("  over-masked:\n    " + "\n    ".join(tally.over_places or ["none"]))


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=["dev", "test"])
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    split_of, known = splits_by_bundle(), known_word_test()
    tallies: dict[str, Tally] = {}
    counts: Counter[str] = Counter()
    for path in name_label_files():
        labels = NameLabels.model_validate(yaml.safe_load(path.read_text()))
        split = split_of.get(labels.bundle, "dev")
        if args.split and split != args.split:
            continue
        score_bundle(labels, tallies.setdefault(split, Tally()))
        counts[split] += 1
    for split in sorted(tallies):
        print_split(split, counts[split], tallies[split], known, args.verbose)
    return {split: t.summary(known) for split, t in tallies.items()}


if __name__ == "__main__":
    main(sys.argv[1:])
