"""YAML for files people write (rubrics, manifests): errors name the file and the line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class YamlDoc:
    """Parsed YAML plus its node tree, so a validation error's location can be turned into a line."""

    name: str
    data: Any
    root: yaml.Node | None

    def line_of(self, loc: tuple[str | int, ...]) -> int | None:
        node, line = self.root, None
        for key in loc:
            node = _child(node, key)
            if node is None:
                break
            line = node.start_mark.line + 1
        return line

    def describe_errors(
        self, error: ValidationError, prefix: tuple[str | int, ...] = ()
    ) -> list[tuple[str, int | None, str]]:
        """(location, line, message) for each error, e.g. ('outcomes[1].details[0].id', 14, 'Field required')."""
        out = []
        for err in error.errors():
            loc = prefix + tuple(err["loc"])
            out.append((dotted(loc), self.line_of(loc), err["msg"]))
        return out


def parse_yaml(text: str, name: str) -> YamlDoc:
    """Parse, raising ValueError('name line N: ...') on a syntax error."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader (libyaml's when installed)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValueError(f"{name}{where}: not valid YAML ({problem})") from exc
    return YamlDoc(name=name, data=data, root=root)


def dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _child(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == str(key):
                return v
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]
    return None
