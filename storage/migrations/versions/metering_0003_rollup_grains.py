"""OpenMeter rollups: drop the per-subject hour grain; leave room for in-place updates on PostgreSQL.

Per-subject hour cells doubled the rows ingest writes per event; queries that would have read them
now read the usage rows (storage/events.py). The other cells are unchanged, so nothing is rebuilt.

Revision ID: metering_0003
Revises: metering_0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "metering_0003"
down_revision = "metering_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM om_meter_rollups WHERE grain = 3600")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE om_meter_rollups SET (fillfactor = 70)")


def downgrade() -> None:
    # The hour cells are not rebuilt: re-derive each meter's usage (updating its groupBy does) if needed.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE om_meter_rollups RESET (fillfactor)")
