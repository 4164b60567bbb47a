"""journal: the status is one of the five IDSync knows

Revision ID: 0004
Revises: 0003

The values are written out here rather than taken from ``JournalStatus``: a migration is a
record of what the schema was at one point, and must not change when the code does.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STATUSES = ("pending", "posted", "failed", "unknown", "superseded")


def upgrade() -> None:
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.create_check_constraint(
            "ck_journal_status", "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")")


def downgrade() -> None:
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.drop_constraint("ck_journal_status", type_="check")
