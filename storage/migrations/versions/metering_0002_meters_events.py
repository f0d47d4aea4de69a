"""OpenMeter meters, events, per-meter usage rows and rollups.

Revision ID: metering_0002
Revises: metering_0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "metering_0002"
down_revision = "metering_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "om_meters",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("aggregation", sa.String(length=16), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("event_from", storage.types.UtcDateTime(), nullable=True),
        sa.Column("value_property", sa.Text(), nullable=True),
        sa.Column("group_by", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("deleted_at", storage.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_om_meters")),
    )
    op.create_index(
        "uq_om_meters_active_slug", "om_meters", ["slug"], unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"), postgresql_where=sa.text("deleted_at IS NULL"),
    )  # fmt: skip
    op.create_index("ix_om_meters_event_type", "om_meters", ["event_type"])

    op.create_table(
        "om_events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("specversion", sa.Text(), nullable=False),
        sa.Column("dataschema", sa.Text(), nullable=True),
        sa.Column("ingested_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_om_events")),
        sa.UniqueConstraint("source", "event_id", name="uq_om_events_source_id"),
    )
    op.create_index("ix_om_events_time", "om_events", ["time"])
    op.create_index("ix_om_events_type_time", "om_events", ["type", "time"])
    op.create_index("ix_om_events_subject_time", "om_events", ["subject", "time"])

    op.create_table(
        "om_meter_events",
        sa.Column("meter_id", sa.String(length=26), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("value", storage.types.ExactDecimal(), nullable=True),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("group_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("meter_id", "seq", name=op.f("pk_om_meter_events")),
    )
    op.create_index("ix_om_meter_events_meter_time", "om_meter_events", ["meter_id", "time"])
    op.create_index("ix_om_meter_events_meter_subject_time", "om_meter_events", ["meter_id", "subject", "time"])

    op.create_table(
        "om_meter_rollups",
        sa.Column("meter_id", sa.String(length=26), nullable=False),
        sa.Column("grain", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("group_hash", sa.String(length=40), nullable=False),
        sa.Column("group_key", sa.Text(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("value_count", sa.BigInteger(), nullable=False),
        sa.Column("total", storage.types.ExactDecimal(), nullable=True),
        sa.Column("minimum", storage.types.ExactDecimal(), nullable=True),
        sa.Column("maximum", storage.types.ExactDecimal(), nullable=True),
        sa.Column("latest_time", sa.BigInteger(), nullable=True),
        sa.Column("latest_seq", sa.BigInteger(), nullable=True),
        sa.Column("latest_value", storage.types.ExactDecimal(), nullable=True),
        sa.Column("first_time", sa.BigInteger(), nullable=False),
        sa.Column("last_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("meter_id", "grain", "subject", "group_hash", "bucket", name=op.f("pk_om_meter_rollups")),
    )
    op.create_index("ix_om_meter_rollups_meter_grain_bucket", "om_meter_rollups", ["meter_id", "grain", "bucket"])


def downgrade() -> None:
    op.drop_table("om_meter_rollups")
    op.drop_table("om_meter_events")
    op.drop_table("om_events")
    op.drop_index("ix_om_meters_event_type", table_name="om_meters")
    op.drop_index("uq_om_meters_active_slug", table_name="om_meters")
    op.drop_table("om_meters")
