"""How well screening matches hand-written ground truth on the labelled bundles.

    python benchmarks/eval_labelled.py [LABELS.yaml ...]

For each bundle: word counts (exact?), planted self-analysis issues and file problems found, citations
that fail re-verification, and precision / recall of gap detection (a detail labelled `weak` or `missing`
is a gap; a finding of `weak` or `missing` is a detected gap), plus exact-status agreement.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import yaml

from prescreen.pipeline import Screener, Screening
from prescreen.settings import Settings
from prescreen.verify import check_citation

ROOT = Path(__file__).resolve().parents[1]
GAP = {"weak", "missing"}


def all_labels() -> list[Path]:
    return sorted((ROOT / "examples" / "labels").glob("*.yaml")) + sorted((ROOT / "benchmarks" / "labelled").glob("*.labels.yaml"))


def evaluate(labels: dict, screening: Screening) -> dict:
    report = screening.report
    words = {p.part_id: p.word_count for p in report.parts}
    found_issues = {(i.detail_id, i.kind) for i in report.self_analysis_issues}
    found_problems = {(p.file, p.kind) for p in report.problems}
    planted_issues = {(i["detail_id"], i["kind"]) for i in labels.get("self_analysis_issues", [])}
    planted_problems = {(p["file"], p["kind"]) for p in labels.get("problems", [])}
    predicted = {d.detail_id: d.status for d in report.details}
    truth = labels["details"]
    tp = sum(truth[d] in GAP and predicted.get(d) in GAP for d in truth)
    return {
        "word_counts_exact": all(words.get(k) == v for k, v in labels["word_counts"].items()),
        "word_counts": {k: (words.get(k), v) for k, v in labels["word_counts"].items()},
        "issues_missed": sorted(planted_issues - found_issues),
        "issues_extra": sorted(found_issues - planted_issues),
        "problems_missed": sorted(planted_problems - found_problems),
        "unverified_citations": sum(
            check_citation(c, screening.sources) is not None or not c.verified for d in report.details for c in d.citations
        ),
        "gap_precision": tp / max(1, sum(predicted.get(d) in GAP for d in truth)),
        "gap_recall": tp / max(1, sum(truth[d] in GAP for d in truth)),
        "status_agreement": sum(predicted.get(d) == s for d, s in truth.items()) / len(truth),
        "disagreements": {d: (s, predicted.get(d)) for d, s in truth.items() if predicted.get(d) != s},
        "readiness": (report.readiness, labels.get("readiness")),
        "_counts": {"tp": tp, "predicted": sum(predicted.get(d) in GAP for d in truth),
                    "gaps": sum(truth[d] in GAP for d in truth)},
    }


def main(paths: list[Path]) -> None:
    totals = {"tp": 0, "predicted": 0, "gaps": 0}
    with tempfile.TemporaryDirectory() as tmp:
        screener = Screener(Settings(data_dir=Path(tmp)))
        for path in paths or all_labels():
            labels = yaml.safe_load(path.read_text())
            result = evaluate(labels, screener.screen(ROOT / labels["bundle"]))
            print(f"\n== {labels['bundle']}")
            for key, value in result.items():
                print(f"  {key:22} {value:.2f}" if isinstance(value, float) else f"  {key:22} {value}")
            for key in totals:
                totals[key] += result["_counts"][key]
    print(f"\n== all bundles: gap precision {totals['tp'] / max(1, totals['predicted']):.2f}, "
          f"gap recall {totals['tp'] / max(1, totals['gaps']):.2f} ({totals['gaps']} labelled gaps)")


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]])
