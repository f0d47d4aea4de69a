"""OpenMeter subscription add-ons.

Revision ID: subscriptions_0002
Revises: subscriptions_0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "subscriptions_0002"
down_revision = "subscriptions_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "om_subscription_addons",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("subscription_id", sa.String(length=26), nullable=False),
        sa.Column("addon_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("affected", sa.JSON(), nullable=False),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("deleted_at", storage.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_om_subscription_addons")),
    )
    op.create_index(op.f("ix_om_subscription_addons_subscription_id"), "om_subscription_addons", ["subscription_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_om_subscription_addons_subscription_id"), table_name="om_subscription_addons")
    op.drop_table("om_subscription_addons")
