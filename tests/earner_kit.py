"""A small credential (two details) and small bundles for it, for the earner's self-check and CLI tests."""

from __future__ import annotations

from pathlib import Path

from tests.factories import make_pdf, write_bundle

CREDENTIAL = "tiny-mentoring"
RUBRIC_YAML = """\
id: tiny-mentoring
title: Tiny Mentoring Credential
version: "1"
parts:
  - id: overview
    title: Part 1, Overview
    kind: text
    minimum_words: 40
  - id: self_analysis
    title: Part 2, Self-analysis
    kind: self_analysis
  - id: reflection
    title: Part 3, Reflection
    kind: text
    minimum_words: 20
outcomes:
  - id: EO1
    title: Every student is known.
    details:
      - id: EO1.1
        text: Implements a structure that connects every student with an adult mentor who meets them weekly.
        look_fors: [mentor, advisory, weekly check-in, every student]
      - id: EO1.2
        text: Publishes the school bus budget to families with a line for each route.
        look_fors: [bus budget, transport cost, route]
"""
OVERVIEW = ("Our school built an advisory so that every student has an adult mentor. "
            "I led the design with teachers and counselors during the summer and the fall. ") * 3
REFLECTION = ("I learned that weekly check-ins need protected time in the schedule, a simple record of each talk, "
              "and a counselor who follows up when a mentor is worried.")
MENTORING = ("Advisory roster 2025-26\nEvery student is assigned an adult mentor who meets them weekly.\n"
             "Mentors logged 412 weekly check-ins with students in October.")
EXPLAIN = "The roster shows every student with an adult mentor and the weekly check-ins logged in October."


def write_rubric(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny-mentoring.yaml").write_text(RUBRIC_YAML, encoding="utf-8")
    return folder


def tiny_bundle(root: Path, *, overview: str = OVERVIEW, entries: list[dict] | None = None,
                artifacts: dict[str, bytes] | None = None) -> Path:
    """A bundle of the tiny credential: one PDF artifact (A1, two pages: the roster, then a lunch menu)."""
    pdf = make_pdf(root.parent / f"{root.name}-roster.pdf", [MENTORING, "Lunch menu for October: soup, pasta, tacos."])
    files = {"overview.md": overview, "reflection.md": REFLECTION, "artifacts/roster.pdf": pdf.read_bytes(),
             **(artifacts or {})}
    manifest = {
        "format": 1, "submission_id": f"S-{root.name}", "credential": CREDENTIAL,
        "earner": {"name": "Jo Rivera", "email": "jo@example.org"},
        "parts": {"overview": "overview.md", "reflection": "reflection.md"},
        "artifacts": [{"id": f"A{i}", "file": path, "title": Path(path).stem}
                      for i, path in enumerate([p for p in files if p.startswith("artifacts/")], start=1)],
        "self_analysis": entries if entries is not None else [
            {"detail": "EO1.1", "evidence": [{"artifact": "A1", "locator": "p. 1"}], "explanation": EXPLAIN},
            {"detail": "EO1.2", "evidence": [{"artifact": "A1", "locator": "p. 1"}], "explanation": EXPLAIN},
        ],
    }
    return write_bundle(root, manifest, files)
