"""OpenMeter notifications: channels, rules, events and the delivery outbox.

Revision ID: notifications_0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "notifications_0001"
down_revision = None
branch_labels = ("notifications",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "om_notification_channels",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("custom_headers", sa.JSON(), nullable=True),
        sa.Column("signing_secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("deleted_at", storage.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_om_notification_channels")),
    )
    op.create_table(
        "om_notification_rules",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("channel_ids", sa.JSON(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=True),
        sa.Column("thresholds", sa.JSON(), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("deleted_at", storage.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_om_notification_rules")),
    )
    op.create_table(
        "om_notification_events",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=26), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("feature_key", sa.String(length=64), nullable=True),
        sa.Column("subject_key", sa.String(length=256), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_om_notification_events")),
    )
    op.create_index(op.f("ix_om_notification_events_rule_id"), "om_notification_events", ["rule_id"], unique=False)
    op.create_index(op.f("ix_om_notification_events_created_at"), "om_notification_events", ["created_at"], unique=False)
    op.create_table(
        "om_notification_deliveries",
        sa.Column("event_id", sa.String(length=26), nullable=False),
        sa.Column("channel_id", sa.String(length=26), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("next_attempt", storage.types.UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=True),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "channel_id", name=op.f("pk_om_notification_deliveries")),
    )
    op.create_index("ix_om_notification_deliveries_state_next", "om_notification_deliveries", ["state", "next_attempt"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_om_notification_deliveries_state_next", table_name="om_notification_deliveries")
    op.drop_table("om_notification_deliveries")
    op.drop_index(op.f("ix_om_notification_events_created_at"), table_name="om_notification_events")
    op.drop_index(op.f("ix_om_notification_events_rule_id"), table_name="om_notification_events")
    op.drop_table("om_notification_events")
    op.drop_table("om_notification_rules")
    op.drop_table("om_notification_channels")
