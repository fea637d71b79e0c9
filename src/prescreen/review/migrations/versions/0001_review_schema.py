"""The review workflow's schema: users, submissions, screening runs, findings, assignments, decisions,
scores, adjudications, final results and the append-only audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _ref(name: str, table: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey(f"{table}.id"), nullable=nullable, index=True)


def upgrade() -> None:
    _people_and_submissions()
    _screening()
    _review()
    _audit_log()


def _people_and_submissions() -> None:
    op.create_table(
        "users", _id(),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_table(
        "submissions", _id(),
        sa.Column("code", sa.String(128), nullable=False),
        sa.Column("credential", sa.String(128), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("earner_key", sa.String(64), nullable=True, index=True),
        sa.Column("previous_id", sa.Integer(), sa.ForeignKey("submissions.id"), nullable=True),
        sa.Column("state", sa.String(32), nullable=False, index=True),
        sa.Column("readiness", sa.String(16), nullable=False),
        sa.Column("incomplete_reasons", sa.Text(), nullable=False),
        sa.Column("returned_reason", sa.Text(), nullable=True),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.UniqueConstraint("code", "attempt", name="uq_submissions_code_attempt"),
    )


def _screening() -> None:
    op.create_table(
        "screening_runs", _id(), _ref("submission_id", "submissions"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("readiness", sa.String(16), nullable=False),
        sa.Column("rubric_id", sa.String(128), nullable=False),
        sa.Column("rubric_version", sa.String(32), nullable=False),
        sa.Column("report_json", sa.Text(), nullable=False),
        sa.Column("sources_json", sa.Text(), nullable=False),
        sa.Column("manifest_json", sa.Text(), nullable=True),
        sa.Column("rubric_json", sa.Text(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.UniqueConstraint("submission_id", "version", name="uq_runs_submission_version"),
    )
    op.create_table(
        "findings", _id(), _ref("run_id", "screening_runs"),
        sa.Column("detail_id", sa.String(64), nullable=False),
        sa.Column("outcome_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.UniqueConstraint("run_id", "detail_id", name="uq_findings_run_detail"),
    )


def _review() -> None:
    op.create_table(
        "assignments", _id(), _ref("submission_id", "submissions"), _ref("assessor_id", "users"),
        sa.Column("assigned_by", sa.String(64), nullable=False),
        sa.Column("assigned_at", WHEN, nullable=False),
        sa.Column("submitted_at", WHEN, nullable=True),
        sa.Column("recommendation", sa.String(16), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.UniqueConstraint("submission_id", "assessor_id", name="uq_assignments_submission_assessor"),
    )
    op.create_table(
        "decisions", _id(), _ref("assignment_id", "assignments"),
        sa.Column("detail_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("new_status", sa.String(16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.UniqueConstraint("assignment_id", "detail_id", name="uq_decisions_assignment_detail"),
    )
    op.create_table(
        "scores", _id(), _ref("assignment_id", "assignments"),
        sa.Column("detail_id", sa.String(64), nullable=False),
        sa.Column("score", sa.String(16), nullable=False),
        sa.Column("feedback", sa.Text(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.UniqueConstraint("assignment_id", "detail_id", name="uq_scores_assignment_detail"),
    )
    op.create_table(
        "adjudications", _id(), _ref("submission_id", "submissions"),
        sa.Column("detail_id", sa.String(64), nullable=False),
        sa.Column("score", sa.String(16), nullable=False),
        sa.Column("feedback", sa.Text(), nullable=False),
        sa.Column("lead", sa.String(64), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.UniqueConstraint("submission_id", "detail_id", name="uq_adjudications_submission_detail"),
    )
    op.create_table(
        "final_results", _id(),
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submissions.id"), nullable=False, unique=True),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("per_detail_json", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(160), nullable=False),
        sa.Column("decided_at", WHEN, nullable=False),
    )


def _audit_log() -> None:
    op.create_table(
        "audit_log", _id(), _ref("submission_id", "submissions", nullable=True),
        sa.Column("at", WHEN, nullable=False, index=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail_id", sa.String(64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
    )
    for statement in _APPEND_ONLY.get(op.get_bind().dialect.name, []):
        op.execute(statement)


_APPEND_ONLY = {
    "sqlite": [
        f"CREATE TRIGGER audit_log_no_{verb} BEFORE {verb.upper()} ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        for verb in ("update", "delete")
    ],
    "postgresql": [
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    ],
}


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    for table in ("audit_log", "final_results", "adjudications", "scores", "decisions", "assignments",
                  "findings", "screening_runs", "submissions", "users"):
        op.drop_table(table)

