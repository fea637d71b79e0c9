"""Rubrics are data: YAML files validated when they load, never code."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from prescreen.errors import RubricError, UnknownRubricError
from prescreen.models import Rubric
from prescreen.yamlfile import parse_yaml

SHIPPED_RUBRICS = Path(__file__).resolve().parents[2] / "rubrics"


def load_rubric(path: Path) -> Rubric:
    """Load and validate one rubric file; errors name the file, the place and the line."""
    try:
        doc = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise RubricError(f"{path}: cannot read ({exc})") from exc
    except ValueError as exc:
        raise RubricError(str(exc)) from exc
    if not isinstance(doc.data, dict):
        raise RubricError(f"{path}: a rubric is a YAML mapping with id, title, version, parts and outcomes")
    try:
        return Rubric.model_validate(doc.data)
    except ValidationError as exc:
        lines = [
            f"{path}{f' line {line}' if line else ''}: {loc}: {msg}" for loc, line, msg in doc.describe_errors(exc)
        ]
        raise RubricError("invalid rubric\n" + "\n".join(lines)) from exc


class RubricLibrary:
    """The rubrics prescreen knows: the shipped ones, plus any in an extra folder."""

    def __init__(self, *folders: Path | None):
        self.folders = [f for f in (SHIPPED_RUBRICS, *folders) if f is not None]
        self._cache: dict[str, Rubric] | None = None

    def all(self) -> dict[str, Rubric]:
        if self._cache is None:
            self._cache = {}
            for folder in self.folders:
                for path in sorted(folder.glob("*.y*ml")):
                    rubric = load_rubric(path)
                    self._cache[rubric.id] = rubric
        return self._cache

    def get(self, rubric_id: str) -> Rubric:
        rubrics = self.all()
        if rubric_id not in rubrics:
            known = ", ".join(sorted(rubrics)) or "none"
            raise UnknownRubricError(f"unknown credential {rubric_id!r} (known: {known})")
        return rubrics[rubric_id]
