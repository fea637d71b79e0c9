"""`prescreen init`: a bundle to fill in, for people who work in folders.

A submission.yaml (format v1) that already reads as a valid manifest, with every rubric detail listed and
commented (its text, what to point to, how to write a locator), the parts' questions and word minimums as
comments, and a placeholder file per text part. Written whole or not at all, and never over existing work.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from prescreen.bundle import MANIFEST_NAME
from prescreen.earner.assemble import ARTIFACTS_DIR, new_folder, new_submission_id
from prescreen.models import Detail, Rubric, RubricPart

WIDTH = 100
SHOWN_BY = {
    "action": "an artifact that shows it done (minutes, a roster, a log, results, a document staff used)",
    "plan": "a documented plan with measurable targets, dates and owners",
    "statement": "an artifact that states it explicitly (a vision, a commitment, a definition)",
}
LOCATORS = "p. 3 | pp. 3-4 | slide 4 | para. 12 | § Heading | 00:04:10-00:05:00"


def scaffold(rubric: Rubric, folder: Path, submission_id: str | None = None) -> Path:
    """Write a new bundle folder for `rubric`; EarnerError when `folder` holds anything already."""

    def fill(work: Path) -> None:
        work.chmod(0o755)  # the person's own folder, not a private temporary one
        (work / ARTIFACTS_DIR).mkdir()
        for part in rubric.text_parts:
            (work / f"{part.id}.md").write_text(f"# {part.title}\n", encoding="utf-8")
        (work / MANIFEST_NAME).write_text(manifest_text(rubric, submission_id or new_submission_id()), encoding="utf-8")

    return new_folder(folder, fill)


def manifest_text(rubric: Rubric, submission_id: str) -> str:
    lines = [
        *_comment(f"The manifest of your submission for {rubric.title} ({rubric.id}, version {rubric.version}). "
                  "Write your parts, put your files in artifacts/ and list them, then point every detail to the "
                  "place that shows it. `prescreen check .` tells you what to fix before you submit."),
        "format: 1",
        f"submission_id: {_q(submission_id)}",
        f"credential: {_q(rubric.id)}",
        "attempt: 1  # 2, 3 ... for a resubmission",
        "earner:  # never shown to assessors",
        '  name: ""', '  email: ""', '  organization: ""',
        "parts:",
    ]
    for part in rubric.text_parts:
        lines += [*_comment(_part_note(part), "  "), f"  {part.id}: {part.id}.md"]
    lines += ["artifacts:", *_comment("one entry per file in artifacts/, e.g.", "  "),
              "  # - id: A1", f"  #   file: {ARTIFACTS_DIR}/equity-audit.pdf",
              "  #   title: Equity audit shared with staff",
              "self_analysis:"]
    for outcome in rubric.outcomes:
        lines += _comment(f"{outcome.id}: {outcome.title}", "  ")
        for detail in outcome.details:
            lines += _entry(detail)
    return "\n".join(lines) + "\n"


def _part_note(part: RubricPart) -> str:
    minimum = f" At least {part.minimum_words} words." if part.minimum_words else ""
    asks = " Answer: " + " ".join(part.prompts) if part.prompts else ""
    return f"{part.title}.{minimum}{asks}"


def _entry(detail: Detail) -> list[str]:
    look_fors = f" An assessor looks for: {', '.join(detail.look_fors)}." if detail.look_fors else ""
    return [
        f"  - detail: {_q(detail.id)}",
        *_comment(" ".join(detail.text.split()), "    "),
        *_comment(f"Point to {SHOWN_BY[detail.evidence]}.{look_fors}", "    "),
        "    evidence: []",
        "      # - artifact: A1",
        f'      #   locator: "p. 3"  # {LOCATORS}',
        '    explanation: ""  # how the evidence shows the detail, in a sentence or two',
    ]


def _comment(text: str, indent: str = "") -> list[str]:
    return [f"{indent}# {line}" for line in textwrap.wrap(text, WIDTH - len(indent) - 2, break_on_hyphens=False)]


def _q(value: str) -> str:
    """A YAML scalar that reads back as exactly this text (JSON strings are YAML)."""
    return json.dumps(value, ensure_ascii=False)
