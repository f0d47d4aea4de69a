"""OpenMeter features, entitlements, grants and usage resets.

Revision ID: entitlements_0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "entitlements_0001"
down_revision = None
branch_labels = ("entitlements",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "om_features",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("meter_slug", sa.String(length=64), nullable=True),
        sa.Column("meter_group_by_filters", sa.JSON(), nullable=True),
        sa.Column("unit_cost", sa.JSON(), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("archived_at", storage.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_om_features")),
    )
    op.create_index(op.f("ix_om_features_meter_slug"), "om_features", ["meter_slug"], unique=False)
    op.create_index(
        "uq_om_features_active_key", "om_features", ["key"], unique=True,
        sqlite_where=sa.text("archived_at IS NULL"), postgresql_where=sa.text("archived_at IS NULL"),
    )  # fmt: skip
    op.create_table(
        "om_entitlements",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("feature_id", sa.String(length=26), nullable=False),
        sa.Column("feature_key", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=26), nullable=False),
        sa.Column("active_from", storage.types.UtcDateTime(), nullable=False),
        sa.Column("active_to", storage.types.UtcDateTime(), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("deleted_at", storage.types.UtcDateTime(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("annotations", sa.JSON(), nullable=True),
        sa.Column("usage_period_interval", sa.String(length=64), nullable=True),
        sa.Column("usage_period_anchor", storage.types.UtcDateTime(), nullable=True),
        sa.Column("measure_usage_from", storage.types.UtcDateTime(), nullable=True),
        sa.Column("is_soft_limit", sa.Boolean(), nullable=False),
        sa.Column("issue_after_reset", storage.types.ExactDecimal(), nullable=True),
        sa.Column("issue_after_reset_priority", sa.Integer(), nullable=True),
        sa.Column("preserve_overage_at_reset", sa.Boolean(), nullable=False),
        sa.Column("config", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_om_entitlements")),
    )
    op.create_index(op.f("ix_om_entitlements_customer_id"), "om_entitlements", ["customer_id"], unique=False)
    op.create_index(op.f("ix_om_entitlements_feature_id"), "om_entitlements", ["feature_id"], unique=False)
    op.create_index(
        "uq_om_entitlements_active_customer_feature", "om_entitlements", ["customer_id", "feature_key"], unique=True,
        sqlite_where=sa.text("deleted_at IS NULL AND active_to IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL AND active_to IS NULL"),
    )  # fmt: skip
    op.create_table(
        "om_grants",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("entitlement_id", sa.String(length=26), nullable=False),
        sa.Column("amount", storage.types.ExactDecimal(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("effective_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("expires_at", storage.types.UtcDateTime(), nullable=True),
        sa.Column("expiration_duration", sa.String(length=8), nullable=True),
        sa.Column("expiration_count", sa.Integer(), nullable=True),
        sa.Column("min_rollover", storage.types.ExactDecimal(), nullable=False),
        sa.Column("max_rollover", storage.types.ExactDecimal(), nullable=False),
        sa.Column("recurrence_interval", sa.String(length=64), nullable=True),
        sa.Column("recurrence_anchor", storage.types.UtcDateTime(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("annotations", sa.JSON(), nullable=True),
        sa.Column("voided_at", storage.types.UtcDateTime(), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("deleted_at", storage.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["entitlement_id"], ["om_entitlements.id"], name=op.f("fk_om_grants_entitlement_id_om_entitlements")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_om_grants")),
    )
    op.create_index(op.f("ix_om_grants_entitlement_id"), "om_grants", ["entitlement_id"], unique=False)
    op.create_table(
        "om_usage_resets",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("entitlement_id", sa.String(length=26), nullable=False),
        sa.Column("at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("preserve_overage", sa.Boolean(), nullable=True),
        sa.Column("retain_anchor", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["entitlement_id"], ["om_entitlements.id"], name=op.f("fk_om_usage_resets_entitlement_id_om_entitlements")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_om_usage_resets")),
    )
    op.create_index(op.f("ix_om_usage_resets_entitlement_id"), "om_usage_resets", ["entitlement_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_om_usage_resets_entitlement_id"), table_name="om_usage_resets")
    op.drop_table("om_usage_resets")
    op.drop_index(op.f("ix_om_grants_entitlement_id"), table_name="om_grants")
    op.drop_table("om_grants")
    op.drop_index("uq_om_entitlements_active_customer_feature", table_name="om_entitlements")
    op.drop_index(op.f("ix_om_entitlements_feature_id"), table_name="om_entitlements")
    op.drop_index(op.f("ix_om_entitlements_customer_id"), table_name="om_entitlements")
    op.drop_table("om_entitlements")
    op.drop_index("uq_om_features_active_key", table_name="om_features")
    op.drop_index(op.f("ix_om_features_meter_slug"), table_name="om_features")
    op.drop_table("om_features")
