"""OpenMeter customers and their usage attribution.

Revision ID: customers_0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "customers_0001"
down_revision = None
branch_labels = ("customers",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "om_customers",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=True),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("primary_email", sa.String(length=1024), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("billing_address", sa.JSON(), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("deleted_at", storage.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_om_customers")),
    )
    op.create_index(
        "uq_om_customers_active_key",
        "om_customers",
        ["key"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index("ix_om_customers_name", "om_customers", ["name", "id"], unique=False)
    op.create_table(
        "om_customer_subjects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=26), nullable=False),
        sa.Column("subject_key", sa.String(length=256), nullable=False),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("deleted_at", storage.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["om_customers.id"], name=op.f("fk_om_customer_subjects_customer_id_om_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_om_customer_subjects")),
    )
    op.create_index(
        "uq_om_customer_subjects_active_key",
        "om_customer_subjects",
        ["subject_key"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index("ix_om_customer_subjects_customer", "om_customer_subjects", ["customer_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_om_customer_subjects_customer", table_name="om_customer_subjects")
    op.drop_index("uq_om_customer_subjects_active_key", table_name="om_customer_subjects")
    op.drop_table("om_customer_subjects")
    op.drop_index("ix_om_customers_name", table_name="om_customers")
    op.drop_index("uq_om_customers_active_key", table_name="om_customers")
    op.drop_table("om_customers")
