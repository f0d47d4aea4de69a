"""OpenMeter subjects.

Revision ID: metering_0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "metering_0001"
down_revision = None
branch_labels = ("metering",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "om_subjects",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("display_name", sa.String(length=512), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("stripe_customer_id", sa.String(length=256), nullable=True),
        sa.Column("current_period_start", storage.types.UtcDateTime(), nullable=True),
        sa.Column("current_period_end", storage.types.UtcDateTime(), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("deleted_at", storage.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_om_subjects")),
    )
    op.create_index(
        "uq_om_subjects_active_key",
        "om_subjects",
        ["key"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_om_subjects_active_key", table_name="om_subjects")
    op.drop_table("om_subjects")
