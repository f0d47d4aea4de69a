"""OpenMeter product catalog: plans, add-ons, plan<->add-on assignments.

Revision ID: catalog_0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "catalog_0001"
down_revision = None
branch_labels = ("catalog",)
depends_on = None


def _versioned(name: str, *columns: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *columns,
        sa.Column("effective_from", storage.types.UtcDateTime(), nullable=True),
        sa.Column("effective_to", storage.types.UtcDateTime(), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("deleted_at", storage.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("key", "version", name=f"uq_{name}_key_version"),
    )


def upgrade() -> None:
    _versioned(
        "om_plans",
        sa.Column("billing_cadence", sa.String(length=64), nullable=False),
        sa.Column("pro_rating", sa.JSON(), nullable=False),
        sa.Column("phases", sa.JSON(), nullable=False),
    )
    _versioned(
        "om_addons",
        sa.Column("instance_type", sa.String(length=16), nullable=False),
        sa.Column("rate_cards", sa.JSON(), nullable=False),
    )
    op.create_table(
        "om_plan_addons",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("plan_id", sa.String(length=26), nullable=False),
        sa.Column("addon_id", sa.String(length=26), nullable=False),
        sa.Column("from_plan_phase", sa.String(), nullable=False),
        sa.Column("max_quantity", sa.Integer(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("deleted_at", storage.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["om_plans.id"], name=op.f("fk_om_plan_addons_plan_id_om_plans")),
        sa.ForeignKeyConstraint(["addon_id"], ["om_addons.id"], name=op.f("fk_om_plan_addons_addon_id_om_addons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_om_plan_addons")),
    )
    op.create_index("ix_om_plan_addons_addon_id", "om_plan_addons", ["addon_id"], unique=False)
    op.create_index(
        "uq_om_plan_addons_live", "om_plan_addons", ["plan_id", "addon_id"], unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"), postgresql_where=sa.text("deleted_at IS NULL"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("uq_om_plan_addons_live", table_name="om_plan_addons")
    op.drop_index("ix_om_plan_addons_addon_id", table_name="om_plan_addons")
    op.drop_table("om_plan_addons")
    op.drop_table("om_addons")
    op.drop_table("om_plans")
