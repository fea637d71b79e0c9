"""The audit log refuses an insert that reuses an existing id: `REPLACE INTO` and upserts cannot rewrite history.

SQLite's REPLACE deletes the old row without firing delete triggers, and an upsert's insert half comes before
its update; a BEFORE INSERT trigger that rejects an id already present stops both, on SQLite and PostgreSQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MESSAGE = "the audit log is append-only: an entry cannot be replaced"

_UPGRADE = {
    "sqlite": [
        "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
        "WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id) "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    ],
    "postgresql": [
        "CREATE FUNCTION audit_log_no_replace() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id) THEN "
        f"RAISE EXCEPTION '{MESSAGE}'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_no_replace()",
    ],
}
_DOWNGRADE = {
    "sqlite": ["DROP TRIGGER IF EXISTS audit_log_no_replace"],
    "postgresql": ["DROP TRIGGER IF EXISTS audit_log_no_replace ON audit_log",
                   "DROP FUNCTION IF EXISTS audit_log_no_replace()"],
}


def upgrade() -> None:
    for statement in _UPGRADE.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    for statement in _DOWNGRADE.get(op.get_bind().dialect.name, []):
        op.execute(statement)
