"""OpenMeter meters: the table and its repository."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.metering.meters import Aggregation, Meter
from storage.base import Base
from storage.types import UtcDateTime


class MeterRow(Base):
    __tablename__ = "om_meters"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(Text)
    aggregation: Mapped[str] = mapped_column(String(16))
    event_type: Mapped[str] = mapped_column(Text)
    event_from: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    value_property: Mapped[str | None] = mapped_column(Text)
    group_by: Mapped[dict[str, Any]] = mapped_column(JSON)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        # Slugs are unique among live meters only: a deleted meter's slug may be taken again.
        Index(
            "uq_om_meters_active_slug",
            "slug",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_om_meters_event_type", "event_type"),
    )


def _to_domain(row: MeterRow) -> Meter:
    return Meter(
        id=row.id, key=row.slug, name=row.name, description=row.description,
        aggregation=Aggregation(row.aggregation), event_type=row.event_type, event_from=row.event_from,
        value_property=row.value_property, group_by=dict(row.group_by or {}), metadata=row.metadata_,
        created_at=row.created_at, updated_at=row.updated_at, deleted_at=row.deleted_at,
    )  # fmt: skip


_ORDER = {"key": "slug", "name": "name", "aggregation": "aggregation", "createdAt": "created_at", "updatedAt": "updated_at"}


class MeterRepository:
    def __init__(self, session: Session):
        self.session = session

    def get_by_id(self, meter_id: str) -> Meter | None:
        row = self.session.get(MeterRow, meter_id.upper())
        return _to_domain(row) if row else None

    def get_active_by_slug(self, slug: str) -> Meter | None:
        row = self.session.scalars(select(MeterRow).where(MeterRow.slug == slug, MeterRow.deleted_at.is_(None))).first()
        return _to_domain(row) if row else None

    def list(self, *, include_deleted: bool, order_by: str = "key", descending: bool = False,
             offset: int = 0, limit: int | None = None) -> list[Meter]:  # fmt: skip
        column = getattr(MeterRow, _ORDER.get(order_by, "slug"))
        query = select(MeterRow)
        if not include_deleted:
            query = query.where(MeterRow.deleted_at.is_(None))
        query = query.order_by(column.desc() if descending else column.asc(), MeterRow.id.asc()).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return [_to_domain(row) for row in self.session.scalars(query)]

    def active_for_event_types(self, event_types: set[str]) -> list[Meter]:
        if not event_types:
            return []
        query = select(MeterRow).where(MeterRow.event_type.in_(sorted(event_types)), MeterRow.deleted_at.is_(None))
        return [_to_domain(row) for row in self.session.scalars(query.order_by(MeterRow.id))]

    def save(self, meter: Meter) -> None:
        row = self.session.get(MeterRow, meter.id) or MeterRow(id=meter.id)
        row.slug, row.name, row.description = meter.key, meter.name, meter.description
        row.aggregation, row.event_type, row.event_from = meter.aggregation.value, meter.event_type, meter.event_from
        row.value_property, row.group_by, row.metadata_ = meter.value_property, dict(meter.group_by), meter.metadata
        row.created_at, row.updated_at, row.deleted_at = meter.created_at, meter.updated_at, meter.deleted_at
        self.session.add(row)
        self.session.flush()
