"""GitLab Subscriptions API: subscriptions, namespace limits, upcoming reconciliations, credit card
validations, instance secrets, add-on purchases, compute minutes packs.

Revision ID: gitlab_subscriptions_0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "gitlab_subscriptions_0001"
down_revision = None
branch_labels = ("gitlab_subscriptions",)
depends_on = "gitlab_0002"


def upgrade() -> None:
    op.create_table(
        "gl_subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("plan_code", sa.String(length=64), nullable=True),
        sa.Column("seats", sa.Integer(), nullable=True),
        sa.Column("seats_in_use", sa.Integer(), nullable=False),
        sa.Column("max_seats_used", sa.Integer(), nullable=True),
        sa.Column("max_seats_used_changed_at", storage.types.UtcDateTime(), nullable=True),
        sa.Column("seats_owed", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("auto_renew", sa.Boolean(), nullable=True),
        sa.Column("trial", sa.Boolean(), nullable=False),
        sa.Column("trial_starts_on", sa.Date(), nullable=True),
        sa.Column("trial_ends_on", sa.Date(), nullable=True),
        sa.Column("trial_extension_type", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["namespace_id"], ["gl_namespaces.id"], name=op.f("fk_gl_subscriptions_namespace_id_gl_namespaces"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_subscriptions")),
        sa.UniqueConstraint("namespace_id", name=op.f("uq_gl_subscriptions_namespace_id")),
    )
    op.create_table(
        "gl_namespace_limits",
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("shared_runners_minutes_limit", sa.Integer(), nullable=True),
        sa.Column("extra_shared_runners_minutes_limit", sa.Integer(), nullable=True),
        sa.Column("additional_purchased_storage_size", sa.Integer(), nullable=False),
        sa.Column("additional_purchased_storage_ends_on", sa.Date(), nullable=True),
        sa.Column("duo_core_features_enabled", sa.Boolean(), nullable=True),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["namespace_id"], ["gl_namespaces.id"], name=op.f("fk_gl_namespace_limits_namespace_id_gl_namespaces"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("namespace_id", name=op.f("pk_gl_namespace_limits")),
    )
    op.create_table(
        "gl_upcoming_reconciliations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("next_reconciliation_date", sa.Date(), nullable=False),
        sa.Column("display_alert_from", sa.Date(), nullable=False),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["namespace_id"], ["gl_namespaces.id"], name=op.f("fk_gl_upcoming_reconciliations_namespace_id_gl_namespaces"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_upcoming_reconciliations")),
        sa.UniqueConstraint("namespace_id", name=op.f("uq_gl_upcoming_reconciliations_namespace_id")),
    )
    op.create_table(
        "gl_credit_card_validations",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("credit_card_validated_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("zuora_payment_method_xid", sa.String(length=50), nullable=True),
        sa.Column("stripe_setup_intent_xid", sa.String(length=255), nullable=True),
        sa.Column("stripe_payment_method_xid", sa.String(length=255), nullable=True),
        sa.Column("stripe_card_fingerprint", sa.String(length=255), nullable=True),
        sa.Column("last_digits_hash", sa.String(length=44), nullable=False),
        sa.Column("holder_name_hash", sa.String(length=44), nullable=False),
        sa.Column("network_hash", sa.String(length=44), nullable=False),
        sa.Column("expiration_date_hash", sa.String(length=44), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["gl_users.id"], name=op.f("fk_gl_credit_card_validations_user_id_gl_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_gl_credit_card_validations")),
        sa.UniqueConstraint("zuora_payment_method_xid", name=op.f("uq_gl_credit_card_validations_zuora_payment_method_xid")),
    )
    op.create_index(op.f("ix_gl_credit_card_validations_stripe_card_fingerprint"), "gl_credit_card_validations", ["stripe_card_fingerprint"], unique=False)
    op.create_table(
        "gl_instance_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_gl_instance_secrets")),
    )
    op.create_table(
        "gl_add_on_purchases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("add_on", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("purchase_xid", sa.String(length=255), nullable=False),
        sa.Column("trial", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["namespace_id"], ["gl_namespaces.id"], name=op.f("fk_gl_add_on_purchases_namespace_id_gl_namespaces"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_add_on_purchases")),
        sa.UniqueConstraint("namespace_id", "add_on", name=op.f("uq_gl_add_on_purchases_namespace_id_add_on")),
    )
    op.create_table(
        "gl_ci_minutes_packs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("number_of_minutes", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Date(), nullable=False),
        sa.Column("purchase_xid", sa.String(length=32), nullable=False),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["namespace_id"], ["gl_namespaces.id"], name=op.f("fk_gl_ci_minutes_packs_namespace_id_gl_namespaces"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_ci_minutes_packs")),
        sa.UniqueConstraint("purchase_xid", name=op.f("uq_gl_ci_minutes_packs_purchase_xid")),
    )
    op.create_index(op.f("ix_gl_ci_minutes_packs_namespace_id"), "gl_ci_minutes_packs", ["namespace_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_gl_ci_minutes_packs_namespace_id"), table_name="gl_ci_minutes_packs")
    op.drop_table("gl_ci_minutes_packs")
    op.drop_table("gl_add_on_purchases")
    op.drop_table("gl_instance_secrets")
    op.drop_index(op.f("ix_gl_credit_card_validations_stripe_card_fingerprint"), table_name="gl_credit_card_validations")
    op.drop_table("gl_credit_card_validations")
    op.drop_table("gl_upcoming_reconciliations")
    op.drop_table("gl_namespace_limits")
    op.drop_table("gl_subscriptions")
