"""onboarding: product mappings and ignore rules

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "product_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("sku", sa.String(length=200), nullable=False),
        sa.Column("term", sa.String(length=20), nullable=False),
        sa.Column("catalog_item_id", sa.String(length=200), nullable=False),
        sa.Column("catalog_item_name", sa.String(length=500), nullable=False),
        sa.Column("price_kind", sa.String(length=20), nullable=True),
        sa.Column("price", sa.String(length=40), nullable=True),
        sa.Column("cost", sa.String(length=40), nullable=True),
        sa.Column("markup_percent", sa.String(length=40), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("product_mappings", schema=None) as batch_op:
        batch_op.create_index("uq_product_mappings_sku", ["provider", "sku", "term"],
                              unique=True)

    op.create_table(
        "ignore_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("object_id", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ignore_rules", schema=None) as batch_op:
        batch_op.create_index("uq_ignore_rules_object", ["provider", "kind", "object_id"],
                              unique=True)


def downgrade() -> None:
    with op.batch_alter_table("ignore_rules", schema=None) as batch_op:
        batch_op.drop_index("uq_ignore_rules_object")
    op.drop_table("ignore_rules")
    with op.batch_alter_table("product_mappings", schema=None) as batch_op:
        batch_op.drop_index("uq_product_mappings_sku")
    op.drop_table("product_mappings")
