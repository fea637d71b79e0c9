"""The program lead's audit: rubric coverage, AI vs human agreement, assessor agreement, flow, rubric lint.

Read-only over the review database; plain domain code (no gradio). The CLI (`prescreen audit`) and the
audit tab are thin edges over `build_audit`.
"""

from prescreen.audit.facts import AuditFilter, load_facts
from prescreen.audit.report import Audit, Table, build_audit

__all__ = ["Audit", "AuditFilter", "Table", "build_audit", "load_facts"]
