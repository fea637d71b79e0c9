"""The one scorer: screening against hand-written answer keys, per split (dev, test).

    python benchmarks/eval_labelled.py                  # every labelled bundle, dev and test
    python benchmarks/eval_labelled.py --split test     # one split
    python benchmarks/eval_labelled.py -v               # and every disagreement, bundle by bundle
    python benchmarks/eval_labelled.py --drafter llm    # through the configured LLM endpoint
    python benchmarks/eval_labelled.py --drafter llm --data-dir D   # keeping the model's answers in D's cache
    python benchmarks/eval_labelled.py --split dev --keys   # the dev answer keys, for prescreen train

Answer keys (`*.labels.yaml`, format in benchmarks/labelled/BRIEF.md) were written with their bundles by
their authors, never from prescreen's output. The split is by author (benchmarks/labelled/splits.yaml):
tune on dev, report on test. Printed per split:

- the status confusion matrix (rows: labelled, columns: drafted);
- gap precision, recall and F1 (a gap is a detail `weak` or `missing`);
- top-citation hit rate: of the details labelled `evidenced`, the share whose first citation sits at a
  labelled evidence place;
- quote validity: citations that re-verify at their place, and spliced quotes (across table rows);
- self-analysis precision and recall, per kind and over all kinds;
- word-count exactness, readiness accuracy.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sklearn.metrics import confusion_matrix

from prescreen.pipeline import Screener, Screening
from prescreen.report import Citation
from prescreen.settings import Settings
from prescreen.train import at_place, load_labels
from prescreen.verify import check_citation, normalise

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "benchmarks" / "labelled"
GAP = {"weak", "missing"}
STATUSES = ["evidenced", "weak", "missing"]
KINDS = ["no_entry", "unknown_artifact", "locator_out_of_range", "locator_unreadable", "no_explanation",
         "evidence_not_at_locator"]


# ---------------------------------------------------------------- answer keys


def all_labels() -> list[Path]:
    return sorted((ROOT / "examples" / "labels").glob("*.yaml")) + sorted(LABELLED.glob("*.labels.yaml"))


def split_of(labels: dict, splits: dict[str, list[str]]) -> str:
    return next((name for name, authors in splits.items() if labels["author"] in authors), "dev")


def load_splits() -> dict[str, list[str]]:
    return {k: [str(a) for a in v] for k, v in yaml.safe_load((LABELLED / "splits.yaml").read_text()).items()}


# ---------------------------------------------------------------- places


def spliced(citation: Citation, screening: Screening) -> bool:
    """A quote that runs across two rows of a table (or a header row and a data row) is not a quote."""
    source = screening.sources.get(citation.artifact_id)
    if source is None or source.kind in ("pdf", "transcript"):
        return False
    quote = normalise(citation.quote)
    for segment in source.segments:
        if segment.paragraph != citation.paragraph or " | " not in segment.text:
            continue
        lines = [normalise(line) for line in segment.text.split("\n")]
        return not any(quote in line for line in lines)
    return False


# ---------------------------------------------------------------- scoring one bundle


@dataclass
class Tally:
    """Counts added up over bundles; the metrics are computed from them once."""

    truth: list[str] = field(default_factory=list)
    drafted: list[str] = field(default_factory=list)
    evidenced: int = 0
    top_hits: int = 0
    citations: int = 0
    valid: int = 0
    spliced: int = 0
    sa: Counter = field(default_factory=Counter)  # (kind, "tp" | "fp" | "fn") -> n
    parts: int = 0
    parts_exact: int = 0
    bundles: int = 0
    ready_right: int = 0
    llm_outcomes: int = 0  # outcomes the LLM drafted (--drafter llm) ...
    llm_fallbacks: int = 0  # ... and those the extractive drafter stood in for: the figures mix both
    places_read: int = 0  # calls in which the LLM read the pointed places ...
    places_unread: int = 0  # ... and those that failed, their places left to the sentence model
    notes: list[str] = field(default_factory=list)

    def add(self, labels: dict, screening: Screening) -> None:
        report = screening.report
        self.bundles += 1
        name = Path(labels["bundle"]).name
        self._details(labels, screening, name)
        self._self_analysis(labels, report, name)
        words = {p.part_id: p.word_count for p in report.parts}
        for part, count in labels.get("word_counts", {}).items():
            self.parts += 1
            self.parts_exact += words.get(part) == count
            if words.get(part) != count:
                self.notes.append(f"{name}: {part} counted {words.get(part)} words, labelled {count}")
        if (drafted_by := report.drafter_summary) and drafted_by.model:
            self.llm_outcomes += len(drafted_by.llm_outcomes)
            self.llm_fallbacks += len(drafted_by.fallbacks)
            self.notes += [f"{name}: {f.outcome_id} fell back to the extractive drafter ({f.reason})"
                           for f in drafted_by.fallbacks]
        places = report.llm_usage.places if report.llm_usage else []
        self.places_read += sum(not c.fallback_reason for c in places)
        self.places_unread += sum(bool(c.fallback_reason) for c in places)
        self.notes += [f"{name}: the LLM could not read pointed places ({c.fallback_reason})"
                       for c in places if c.fallback_reason]
        self.ready_right += report.readiness == labels.get("readiness")
        if report.readiness != labels.get("readiness"):
            self.notes.append(f"{name}: readiness {report.readiness}, labelled {labels.get('readiness')}")

    def _details(self, labels: dict, screening: Screening, name: str) -> None:
        drafted = {d.detail_id: d for d in screening.report.details}
        for detail_id, truth in labels["details"].items():
            finding = drafted.get(detail_id)
            status = finding.status if finding else "missing"
            self.truth.append(truth["status"])
            self.drafted.append(status)
            if status != truth["status"]:
                self.notes.append(f"{name}: {detail_id} drafted {status}, labelled {truth['status']}"
                                  f" ({truth.get('note', '')})")
            if truth["status"] == "evidenced" and truth.get("evidence"):
                self.evidenced += 1
                first = finding.citations[0] if finding and finding.citations else None
                self.top_hits += bool(first and any(at_place(first, p) for p in truth["evidence"]))
            for citation in finding.citations if finding else []:
                self.citations += 1
                self.valid += citation.verified and check_citation(citation, screening.sources) is None
                self.spliced += spliced(citation, screening)

    def _self_analysis(self, labels: dict, report, name: str) -> None:
        found = Counter((i.detail_id, i.kind) for i in report.self_analysis_issues)
        truth = Counter((i["detail_id"], i["kind"]) for i in labels.get("self_analysis_issues", []))
        for detail_id, kind in found | truth:
            tp = min(found[(detail_id, kind)], truth[(detail_id, kind)])
            fp, fn = found[(detail_id, kind)] - tp, truth[(detail_id, kind)] - tp
            self.sa[(kind, "tp")] += tp
            self.sa[(kind, "fp")] += fp
            self.sa[(kind, "fn")] += fn
            if fp or fn:
                self.notes.append(f"{name}: self-analysis {detail_id} {kind}: " + ("false flag" if fp else "missed"))


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def summary(t: Tally) -> dict[str, float]:
    gaps_true = sum(s in GAP for s in t.truth)
    gaps_drafted = sum(s in GAP for s in t.drafted)
    tp = sum(a in GAP and b in GAP for a, b in zip(t.truth, t.drafted, strict=True))
    p, r = _ratio(tp, gaps_drafted), _ratio(tp, gaps_true)
    sa_tp = sum(n for (k, w), n in t.sa.items() if w == "tp")
    sa_fp = sum(n for (k, w), n in t.sa.items() if w == "fp")
    sa_fn = sum(n for (k, w), n in t.sa.items() if w == "fn")
    sa_p, sa_r = _ratio(sa_tp, sa_tp + sa_fp), _ratio(sa_tp, sa_tp + sa_fn)
    return {
        "bundles": t.bundles, "details": len(t.truth),
        "status_agreement": _ratio(sum(a == b for a, b in zip(t.truth, t.drafted, strict=True)), len(t.truth)),
        "gap_precision": p, "gap_recall": r, "gap_f1": _f1(p, r),
        "top_citation_hit": _ratio(t.top_hits, t.evidenced),
        "quote_validity": _ratio(t.valid, t.citations), "spliced_quotes": t.spliced,
        "self_analysis_precision": sa_p, "self_analysis_recall": sa_r,
        "word_counts_exact": _ratio(t.parts_exact, t.parts),
        "readiness_accuracy": _ratio(t.ready_right, t.bundles),
    } | _nonzero(llm_outcomes=t.llm_outcomes, llm_fallbacks=t.llm_fallbacks) \
      | _nonzero(places_read=t.places_read, places_unread=t.places_unread)


def _nonzero(**counts: int) -> dict[str, int]:
    """The counts, or nothing when all are zero (an extractive run says nothing of the LLM)."""
    return counts if any(counts.values()) else {}


def print_split(name: str, t: Tally, verbose: bool) -> None:
    print(f"\n== {name}: {t.bundles} bundles, {len(t.truth)} details")
    matrix = confusion_matrix(t.truth, t.drafted, labels=STATUSES)
    print("  status confusion (rows labelled, columns drafted):  " + "  ".join(f"{s:>9}" for s in STATUSES))
    for status, row in zip(STATUSES, matrix, strict=True):
        print(f"  {status:>50}  " + "  ".join(f"{n:>9}" for n in row))
    for key, value in summary(t).items():
        print(f"  {key:26} {value:.3f}" if isinstance(value, float) else f"  {key:26} {value}")
    print("  self-analysis by kind (precision / recall, tp fp fn):")
    for kind in KINDS:
        tp, fp, fn = (t.sa[(kind, w)] for w in ("tp", "fp", "fn"))
        print(f"    {kind:24} {_ratio(tp, tp + fp):.2f} / {_ratio(tp, tp + fn):.2f}   ({tp} {fp} {fn})")
    if verbose:
        print("\n".join(f"    - {note}" for note in t.notes))


def screener_for(drafter: str, data_dir: Path) -> Screener:
    settings = Settings(data_dir=data_dir)
    if drafter == "llm":
        from prescreen.cli import make_drafter

        return Screener(settings, drafter=make_drafter(settings, "llm"))
    return Screener(settings)


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("labels", nargs="*", type=Path)
    parser.add_argument("--split", choices=["dev", "test"])
    parser.add_argument("--drafter", choices=["extractive", "llm"], default="extractive")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--keys", action="store_true", help="print the answer keys (for prescreen train) and stop")
    parser.add_argument("--data-dir", type=Path, help="keep the index and the LLM's answer cache here, so a re-run "
                        "asks the model nothing it already answered (default: a temporary folder)")
    args = parser.parse_args(argv)
    splits = load_splits()
    if args.keys:
        keys = [p for p in all_labels() if args.split in (None, split_of(load_labels(p), splits))]
        print("\n".join(str(p.relative_to(ROOT)) for p in keys))
        return {}
    tallies: dict[str, Tally] = {}
    with tempfile.TemporaryDirectory() as tmp:
        screener = screener_for(args.drafter, args.data_dir or Path(tmp))
        for path in args.labels or all_labels():
            labels = load_labels(path)
            split = split_of(labels, splits)
            if args.split and split != args.split:
                continue
            tallies.setdefault(split, Tally()).add(labels, screener.screen(ROOT / labels["bundle"]))
    for name in sorted(tallies):
        print_split(name, tallies[name], args.verbose)
    return {name: summary(t) for name, t in tallies.items()}


if __name__ == "__main__":
    main(sys.argv[1:])
