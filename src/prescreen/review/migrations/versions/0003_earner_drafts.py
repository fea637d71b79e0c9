"""Earners' drafts: a submission being built in the browser (the draft as JSON, its owner, credential, attempt,
status draft/submitted) and its uploaded files, kept as blobs so a draft and its files are saved in one
transaction (models in prescreen/earner/store.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "earner_drafts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False, index=True),
        sa.Column("credential", sa.String(128), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("draft_json", sa.Text(), nullable=False),
        sa.Column("previous_id", sa.Integer(), sa.ForeignKey("earner_drafts.id"), nullable=True),
        sa.Column("submission_code", sa.String(128), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("submitted_at", WHEN, nullable=True),
    )
    op.create_table(
        "earner_files",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("draft_id", sa.Integer(), sa.ForeignKey("earner_drafts.id"), nullable=False, index=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", WHEN, nullable=False),
        sa.UniqueConstraint("draft_id", "name", name="uq_earner_files_draft_name"),
    )


def downgrade() -> None:
    op.drop_table("earner_files")
    op.drop_table("earner_drafts")
