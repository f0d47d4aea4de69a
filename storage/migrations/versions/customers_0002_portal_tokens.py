"""OpenMeter portal token records and client progress records.

Revision ID: customers_0002
Revises: customers_0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "customers_0002"
down_revision = "customers_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "om_portal_tokens",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("subject", sa.String(length=1024), nullable=False),
        sa.Column("allowed_meter_slugs", sa.JSON(), nullable=False),
        sa.Column("expires_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("invalidated_at", storage.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_om_portal_tokens")),
    )
    op.create_index("ix_om_portal_tokens_subject", "om_portal_tokens", ["subject"], unique=False)
    op.create_table(
        "om_progress",
        sa.Column("id", sa.String(length=1024), nullable=False),
        sa.Column("success", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_om_progress")),
    )


def downgrade() -> None:
    op.drop_table("om_progress")
    op.drop_index("ix_om_portal_tokens_subject", table_name="om_portal_tokens")
    op.drop_table("om_portal_tokens")
