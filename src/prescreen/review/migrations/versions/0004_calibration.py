"""Assessor calibration and the anchoring check: the gold set with its true scores, gold (calibration)
assignments, the assignment whose assessor was not shown the AI draft, and a lead's request that an assessor
calibrate again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gold_submissions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submissions.id"), nullable=False, unique=True),
        sa.Column("true_scores_json", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("marked_by", sa.String(64), nullable=False),
        sa.Column("marked_at", WHEN, nullable=False),
    )
    with op.batch_alter_table("assignments") as table:
        table.add_column(sa.Column("gold", sa.Boolean(), nullable=False, server_default=sa.false()))
        table.add_column(sa.Column("draft_hidden", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("users") as table:
        table.add_column(sa.Column("calibrate_from", WHEN, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as table:
        table.drop_column("calibrate_from")
    with op.batch_alter_table("assignments") as table:
        table.drop_column("draft_hidden")
        table.drop_column("gold")
    op.drop_table("gold_submissions")
