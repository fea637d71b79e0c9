"""How long masking takes for what an assessor view shows: 50 KB of a sample's text, after warm-up.

    python benchmarks/deidentify_bench.py
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from prescreen.review.deidentify import earner_names, masker

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    bundle = ROOT / "examples" / "harbor-middle"
    earner = yaml.safe_load((bundle / "submission.yaml").read_text())["earner"]
    text = (bundle / "overview.md").read_text(encoding="utf-8")
    text = (text * (50_000 // len(text) + 1))[:50_000]
    start = time.perf_counter()
    mask = masker(earner_names(earner))
    mask(text[:1000])
    warm = time.perf_counter() - start
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        mask(text)
        runs.append(time.perf_counter() - start)
    print(f"engine build + first call: {warm:.2f} s")
    print(f"mask 50 KB: best {min(runs):.2f} s, median {sorted(runs)[2]:.2f} s over 5 runs")


if __name__ == "__main__":
    main()
