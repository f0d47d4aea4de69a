"""OpenMeter subscriptions.

Revision ID: subscriptions_0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "subscriptions_0001"
down_revision = None
branch_labels = ("subscriptions",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "om_subscriptions",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("customer_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("plan_id", sa.String(length=26), nullable=True),
        sa.Column("plan_key", sa.String(length=64), nullable=True),
        sa.Column("plan_version", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("billing_cadence", sa.String(length=64), nullable=False),
        sa.Column("pro_rating", sa.JSON(), nullable=False),
        sa.Column("billing_anchor", storage.types.UtcDateTime(), nullable=False),
        sa.Column("active_from", storage.types.UtcDateTime(), nullable=False),
        sa.Column("active_to", storage.types.UtcDateTime(), nullable=True),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("phases", sa.JSON(), nullable=False),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("deleted_at", storage.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_om_subscriptions")),
    )
    op.create_index("ix_om_subscriptions_customer", "om_subscriptions", ["customer_id", "active_from"])
    op.create_index("ix_om_subscriptions_plan_key", "om_subscriptions", ["plan_key"])


def downgrade() -> None:
    op.drop_index("ix_om_subscriptions_plan_key", table_name="om_subscriptions")
    op.drop_index("ix_om_subscriptions_customer", table_name="om_subscriptions")
    op.drop_table("om_subscriptions")
