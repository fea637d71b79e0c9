"""The program lead's audit: rubric coverage, AI vs human agreement, assessor agreement, flow, rubric lint,
calibration against the gold set and the anchoring check.

Read-only over the review database; plain domain code (no gradio). The CLI (`prescreen audit`) and the
audit tab are thin edges over `build_audit`. The names below load on first use, so the review workflow can read
`prescreen.audit.stats` (agreement statistics) without loading the whole audit.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prescreen.audit.facts import AuditFilter, load_facts
    from prescreen.audit.report import Audit, Table, build_audit

_HOME = {"Audit": "report", "Table": "report", "build_audit": "report", "AuditFilter": "facts", "load_facts": "facts"}

__all__ = ["Audit", "AuditFilter", "Table", "build_audit", "load_facts"]


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'prescreen.audit' has no attribute {name!r}")
    return getattr(importlib.import_module(f"prescreen.audit.{_HOME[name]}"), name)
