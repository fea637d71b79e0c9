"""A generated submission of a given size, for benchmarks: realistic words, known shape, no meaning promised."""

from __future__ import annotations

import random
from pathlib import Path

import yaml
from fpdf import FPDF

SUBJECTS = ["Our equity team", "The staff", "Grade-level teams", "Families", "The advisory coordinator",
            "Student council members", "The MTSS team", "Our counselors", "Teachers", "The leadership team"]
VERBS = ["reviewed", "discussed", "presented", "analyzed", "revised", "shared", "tracked", "compared", "planned",
         "reported"]
OBJECTS = ["attendance data for English learners", "discipline referrals by race", "the belonging survey results",
           "advanced math enrollment by subgroup", "the early-warning list", "the family night notes",
           "the equity definition", "our improvement plan timeline", "reading growth by program", "the advisory roster"]
TAILS = ["in the October meeting.", "with interpreters present.", "and chose two actions.", "for the third quarter.",
         "before the midyear review.", "with the site council.", "and posted the results.", "during PD on Wednesday."]


def paragraph(rng: random.Random, sentences: int = 5) -> str:
    out = []
    for _ in range(sentences):
        n = rng.randint(3, 40)
        out.append(
            f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}, {n}% of them, {rng.choice(TAILS)}"
        )
    return " ".join(out)


def write_pdf(path: Path, pages: int, rng: random.Random) -> None:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    for _ in range(pages):
        pdf.add_page()
        for _ in range(4):
            pdf.multi_cell(0, 5, paragraph(rng))
            pdf.ln(2)
    pdf.output(str(path))


def make_bundle(root: Path, pages: int = 40, artifacts: int = 5, seed: int = 7) -> Path:
    """`pages` PDF pages spread over `artifacts` PDFs, plus the two narrative parts."""
    rng = random.Random(seed)
    (root / "artifacts").mkdir(parents=True, exist_ok=True)
    refs = []
    for i in range(artifacts):
        count = pages // artifacts + (1 if i < pages % artifacts else 0)
        write_pdf(root / "artifacts" / f"artifact-{i + 1}.pdf", count, rng)
        refs.append({"id": f"A{i + 1}", "file": f"artifacts/artifact-{i + 1}.pdf", "title": f"Artifact {i + 1}"})
    (root / "overview.md").write_text("\n\n".join(paragraph(rng, 8) for _ in range(12)))
    (root / "reflection.md").write_text("\n\n".join(paragraph(rng, 8) for _ in range(6)))
    manifest = {
        "format": 1, "submission_id": f"BENCH-{pages}", "credential": "leading-an-equitable-learning-culture",
        "earner": {"name": "Bench Mark"}, "parts": {"overview": "overview.md", "reflection": "reflection.md"},
        "artifacts": refs,
        "self_analysis": [{"detail": f"EO{o}.{d}", "evidence": [{"artifact": "A1", "locator": "p. 1"}],
                           "explanation": "The first page shows the data we reviewed and what we changed after."}
                          for o in range(1, 5) for d in range(1, 4)],
    }
    (root / "submission.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return root
