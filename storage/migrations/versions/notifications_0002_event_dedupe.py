"""Notification events: dedupe key (a balance threshold fires once per rule, entitlement and period).

Revision ID: notifications_0002
Revises: notifications_0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "notifications_0002"
down_revision = "notifications_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("om_notification_events") as batch:
        batch.add_column(sa.Column("dedupe_key", sa.String(length=512), nullable=True))
    op.create_index("uq_om_notification_events_rule_dedupe", "om_notification_events", ["rule_id", "dedupe_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_om_notification_events_rule_dedupe", table_name="om_notification_events")
    with op.batch_alter_table("om_notification_events") as batch:
        batch.drop_column("dedupe_key")
