"""Prompts are files in prompts/, versioned, with their variables checked when they load."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError, model_validator

from prescreen.errors import ConfigurationError
from prescreen.yamlfile import parse_yaml

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"

Role = Literal["system", "user"]


class PromptTemplate(BaseModel):
    id: str
    version: str
    variables: list[str]
    system: str
    user: str

    @model_validator(mode="after")
    def _variables_match(self) -> PromptTemplate:
        used = {name for text in (self.system, self.user) for _, name, _, _ in string.Formatter().parse(text) if name}
        if unknown := used - set(self.variables):
            raise ValueError(f"uses undeclared variables: {', '.join(sorted(unknown))}")
        if unused := set(self.variables) - used:
            raise ValueError(f"declares variables it never uses: {', '.join(sorted(unused))}")
        return self

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"

    def render(self, **values: str) -> tuple[str, str]:
        """(system, user) with every variable filled; a missing value is an error, not an empty string."""
        if missing := set(self.variables) - values.keys():
            raise ConfigurationError(f"prompt {self.label} needs values for {', '.join(sorted(missing))}")
        return self.system.format(**values), self.user.format(**values)

    def turns(self, system_role: bool = True, **values: str) -> list[tuple[Role, str]]:
        """The chat turns: a system turn and a user turn, or, for a chat template without a system role, one
        user turn that opens with the rules (some templates drop a system message without a word)."""
        system, user = self.render(**values)
        return [("system", system), ("user", user)] if system_role else [("user", f"{system}\n\n{user}")]


def load_prompt(name: str, folder: Path = PROMPTS_DIR) -> PromptTemplate:
    path = folder / f"{name}.yaml"
    try:
        doc = parse_yaml(path.read_text(encoding="utf-8"), str(path))
        return PromptTemplate.model_validate(doc.data)
    except (OSError, ValueError) as exc:
        detail = "; ".join(e["msg"] for e in exc.errors()) if isinstance(exc, ValidationError) else str(exc)
        raise ConfigurationError(f"prompt {path}: {detail}") from exc
