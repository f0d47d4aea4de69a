"""OpenMeter features: the table and its repository."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, String, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.features import Feature
from domain.errors import ConflictError
from storage.base import Base
from storage.types import UtcDateTime


MAX_OFFSET = 2**62
"""Offsets past any table size (page 10^30 from a fuzzer) are clamped so the database never overflows."""

class FeatureRow(Base):
    __tablename__ = "om_features"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(1024))
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    meter_slug: Mapped[str | None] = mapped_column(String(64), index=True)
    meter_group_by_filters: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    unit_cost: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    archived_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        # A key is unique among active features: an archived feature's key may be taken again.
        Index("uq_om_features_active_key", "key", unique=True,
              sqlite_where=text("archived_at IS NULL"), postgresql_where=text("archived_at IS NULL")),  # fmt: skip
    )


_FIELDS = ("id", "key", "name", "meter_slug", "meter_group_by_filters", "unit_cost", "created_at", "updated_at", "archived_at")


def _to_domain(row: FeatureRow) -> Feature:
    return Feature(metadata=row.metadata_, **{name: getattr(row, name) for name in _FIELDS})


class FeatureRepository:
    def __init__(self, session: Session):
        self.session = session

    def get_by_id(self, feature_id: str) -> Feature | None:
        row = self.session.get(FeatureRow, feature_id.upper())
        return _to_domain(row) if row else None

    def get_active_by_key(self, key: str) -> Feature | None:
        row = self.session.scalars(select(FeatureRow).where(FeatureRow.key == key, FeatureRow.archived_at.is_(None))).first()
        return _to_domain(row) if row else None

    def by_ids(self, ids: list[str]) -> dict[str, Feature]:
        if not ids:
            return {}
        return {row.id: _to_domain(row) for row in self.session.scalars(select(FeatureRow).where(FeatureRow.id.in_(ids)))}

    def list(self, *, meter_slugs: list[str] | None, include_archived: bool, order_column: str, descending: bool,
             offset: int, limit: int) -> tuple[list[Feature], int]:  # fmt: skip
        query = select(FeatureRow)
        if not include_archived:
            query = query.where(FeatureRow.archived_at.is_(None))
        if meter_slugs:
            query = query.where(FeatureRow.meter_slug.in_(meter_slugs))
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        column = getattr(FeatureRow, order_column)
        order = [column.desc() if descending else column.asc(), FeatureRow.id.desc() if descending else FeatureRow.id.asc()]
        rows = self.session.scalars(query.order_by(*order).offset(min(offset, MAX_OFFSET)).limit(min(limit, MAX_OFFSET)))
        return [_to_domain(row) for row in rows], total

    def save(self, feature: Feature) -> None:
        row = self.session.get(FeatureRow, feature.id) or FeatureRow(id=feature.id)
        for name in _FIELDS:
            setattr(row, name, getattr(feature, name))
        row.metadata_ = feature.metadata
        self.session.add(row)
        try:
            self.session.flush()
        except IntegrityError:  # a concurrent request took the key first
            raise ConflictError("another feature with the same key was created at the same time; retry") from None
