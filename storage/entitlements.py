"""OpenMeter entitlements, their grants and usage resets: tables and repositories."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, and_, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.entitlements.model import Entitlement, StoredGrant, StoredReset
from domain.errors import ConflictError
from storage.base import Base
from storage.types import ExactDecimal, UtcDateTime


MAX_OFFSET = 2**62
"""Offsets past any table size (page 10^30 from a fuzzer) are clamped so the database never overflows."""

class EntitlementRow(Base):
    __tablename__ = "om_entitlements"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    feature_id: Mapped[str] = mapped_column(String(26), index=True)
    feature_key: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(26), index=True)
    active_from: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    active_to: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    annotations: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    usage_period_interval: Mapped[str | None] = mapped_column(String(64))
    usage_period_anchor: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    measure_usage_from: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    is_soft_limit: Mapped[bool] = mapped_column(Boolean, default=False)
    issue_after_reset: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    issue_after_reset_priority: Mapped[int | None] = mapped_column(Integer)
    preserve_overage_at_reset: Mapped[bool] = mapped_column(Boolean, default=False)
    config: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # One entitlement per customer and feature at a time: an overridden (active_to set) or
        # deleted one no longer counts.
        Index("uq_om_entitlements_active_customer_feature", "customer_id", "feature_key", unique=True,
              sqlite_where=text("deleted_at IS NULL AND active_to IS NULL"),
              postgresql_where=text("deleted_at IS NULL AND active_to IS NULL")),  # fmt: skip
    )


class GrantRow(Base):
    __tablename__ = "om_grants"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    entitlement_id: Mapped[str] = mapped_column(ForeignKey("om_entitlements.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    priority: Mapped[int] = mapped_column(Integer)
    effective_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    expiration_duration: Mapped[str | None] = mapped_column(String(8))
    expiration_count: Mapped[int | None] = mapped_column(Integer)
    min_rollover: Mapped[Decimal] = mapped_column(ExactDecimal)
    max_rollover: Mapped[Decimal] = mapped_column(ExactDecimal)
    recurrence_interval: Mapped[str | None] = mapped_column(String(64))
    recurrence_anchor: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    annotations: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    voided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class UsageResetRow(Base):
    __tablename__ = "om_usage_resets"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    entitlement_id: Mapped[str] = mapped_column(ForeignKey("om_entitlements.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    preserve_overage: Mapped[bool | None] = mapped_column(Boolean)
    retain_anchor: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


_ENTITLEMENT_FIELDS = ("id", "type", "feature_id", "feature_key", "customer_id", "active_from", "active_to", "created_at",
                       "updated_at", "deleted_at", "annotations", "usage_period_interval", "usage_period_anchor",
                       "measure_usage_from", "is_soft_limit", "issue_after_reset", "issue_after_reset_priority",
                       "preserve_overage_at_reset", "config")  # fmt: skip
_GRANT_FIELDS = ("id", "entitlement_id", "amount", "priority", "effective_at", "expires_at", "expiration_duration",
                 "expiration_count", "min_rollover", "max_rollover", "recurrence_interval", "recurrence_anchor",
                 "annotations", "voided_at", "created_at", "updated_at", "deleted_at")  # fmt: skip
_RESET_FIELDS = ("id", "entitlement_id", "at", "preserve_overage", "retain_anchor", "created_at")


def _entitlement(row: EntitlementRow) -> Entitlement:
    return Entitlement(metadata=row.metadata_, **{name: getattr(row, name) for name in _ENTITLEMENT_FIELDS})


def _grant(row: GrantRow) -> StoredGrant:
    return StoredGrant(metadata=row.metadata_, **{name: getattr(row, name) for name in _GRANT_FIELDS})


def _reset(row: UsageResetRow) -> StoredReset:
    return StoredReset(**{name: getattr(row, name) for name in _RESET_FIELDS})


def _order(column, descending: bool, tie):
    return [column.desc() if descending else column.asc(), tie.desc() if descending else tie.asc()]


class EntitlementRepository:
    def __init__(self, session: Session):
        self.session = session

    # --- entitlements ---

    def get(self, entitlement_id: str) -> Entitlement | None:
        row = self.session.get(EntitlementRow, entitlement_id.upper())
        return _entitlement(row) if row else None

    def current_for(self, customer_id: str, feature_key: str, *, at: dt.datetime) -> Entitlement | None:
        """The customer's entitlement of the feature active at `at` (one deleted later still counts then)."""
        rows = self.session.scalars(
            select(EntitlementRow)
            .where(EntitlementRow.customer_id == customer_id, EntitlementRow.feature_key == feature_key,
                   or_(EntitlementRow.deleted_at.is_(None), EntitlementRow.deleted_at > at), EntitlementRow.active_from <= at,
                   or_(EntitlementRow.active_to.is_(None), EntitlementRow.active_to > at))
            .order_by(EntitlementRow.active_from.desc())
        )  # fmt: skip
        row = rows.first()
        return _entitlement(row) if row else None

    def open_for(self, customer_id: str, feature_key: str) -> Entitlement | None:
        """The entitlement that blocks a new one for this customer and feature (not deleted, not overridden)."""
        row = self.session.scalars(
            select(EntitlementRow).where(EntitlementRow.customer_id == customer_id, EntitlementRow.feature_key == feature_key,
                                         EntitlementRow.deleted_at.is_(None), EntitlementRow.active_to.is_(None))
        ).first()  # fmt: skip
        return _entitlement(row) if row else None

    def list(self, *, customer_ids: list[str] | None = None, features: list[str] | None = None, types: list[str] | None = None,
             include_deleted: bool = False, active_at: dt.datetime | None = None, order_by: str = "created_at",
             descending: bool = False, offset: int = 0, limit: int | None = None) -> tuple[list[Entitlement], int]:  # fmt: skip
        query = select(EntitlementRow)
        if customer_ids is not None:
            query = query.where(EntitlementRow.customer_id.in_(customer_ids))
        if features:
            upper = [f.upper() for f in features]
            query = query.where(or_(EntitlementRow.feature_key.in_(features), EntitlementRow.feature_id.in_(upper)))
        if types:
            query = query.where(EntitlementRow.type.in_(types))
        if not include_deleted:
            query = query.where(EntitlementRow.deleted_at.is_(None))
        if active_at is not None:
            query = query.where(EntitlementRow.active_from <= active_at,
                                or_(EntitlementRow.active_to.is_(None), EntitlementRow.active_to > active_at),
                                or_(EntitlementRow.deleted_at.is_(None), EntitlementRow.deleted_at > active_at))  # fmt: skip
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        query = query.order_by(*_order(getattr(EntitlementRow, order_by), descending, EntitlementRow.id)).offset(min(offset, MAX_OFFSET))
        if limit is not None:
            query = query.limit(min(limit, MAX_OFFSET))
        return [_entitlement(row) for row in self.session.scalars(query)], total

    def save(self, entitlement: Entitlement) -> None:
        row = self.session.get(EntitlementRow, entitlement.id) or EntitlementRow(id=entitlement.id)
        for name in _ENTITLEMENT_FIELDS:
            setattr(row, name, getattr(entitlement, name))
        row.metadata_ = entitlement.metadata
        self.session.add(row)
        try:
            self.session.flush()
        except IntegrityError:  # a concurrent request took the key first
            raise ConflictError("another entitlement of this customer and feature was created at the same time; retry") from None

    # --- grants ---

    def get_grant(self, grant_id: str) -> StoredGrant | None:
        row = self.session.get(GrantRow, grant_id.upper())
        return _grant(row) if row else None

    def grants_of(self, entitlement_id: str) -> list[StoredGrant]:
        rows = self.session.scalars(
            select(GrantRow).where(GrantRow.entitlement_id == entitlement_id, GrantRow.deleted_at.is_(None))
            .order_by(GrantRow.effective_at, GrantRow.created_at, GrantRow.id)
        )  # fmt: skip
        return [_grant(row) for row in rows]

    def list_grants(self, *, customer_ids: list[str] | None = None, entitlement_ids: list[str] | None = None,
                    features: list[str] | None = None, include_deleted: bool = False, order_by: str = "effective_at",
                    descending: bool = False, offset: int = 0, limit: int | None = None) -> tuple[list[StoredGrant], int]:  # fmt: skip
        query = select(GrantRow).join(EntitlementRow, EntitlementRow.id == GrantRow.entitlement_id)
        if customer_ids is not None:
            query = query.where(EntitlementRow.customer_id.in_(customer_ids))
        if entitlement_ids is not None:
            query = query.where(GrantRow.entitlement_id.in_(entitlement_ids))
        if features:
            upper = [f.upper() for f in features]
            query = query.where(or_(EntitlementRow.feature_key.in_(features), EntitlementRow.feature_id.in_(upper)))
        if not include_deleted:
            query = query.where(and_(GrantRow.deleted_at.is_(None), EntitlementRow.deleted_at.is_(None)))
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        query = query.order_by(*_order(getattr(GrantRow, order_by), descending, GrantRow.id)).offset(min(offset, MAX_OFFSET))
        if limit is not None:
            query = query.limit(min(limit, MAX_OFFSET))
        return [_grant(row) for row in self.session.scalars(query)], total

    def save_grant(self, grant: StoredGrant) -> None:
        row = self.session.get(GrantRow, grant.id) or GrantRow(id=grant.id)
        for name in _GRANT_FIELDS:
            setattr(row, name, getattr(grant, name))
        row.metadata_ = grant.metadata
        self.session.add(row)
        self.session.flush()

    # --- resets ---

    def resets_of(self, entitlement_id: str) -> list[StoredReset]:
        rows = self.session.scalars(
            select(UsageResetRow).where(UsageResetRow.entitlement_id == entitlement_id).order_by(UsageResetRow.at)
        )
        return [_reset(row) for row in rows]

    def save_reset(self, reset: StoredReset) -> None:
        row = UsageResetRow(**{name: getattr(reset, name) for name in _RESET_FIELDS})
        self.session.add(row)
        self.session.flush()


class MinuteUsageRepository:
    """Per-minute usage totals read from the metering store (`om_meter_events`), for the usage cache.

    Reads another module's table, never writes it: the metering store stays the one source of usage.
    """

    def __init__(self, session: Session):
        from storage.events import MeterEventRow

        self.session = session
        self.rows = MeterEventRow
        self.dialect = session.get_bind().dialect.name

    def max_seq(self, meter_id: str) -> int:
        return self.session.scalar(select(func.max(self.rows.seq)).where(self.rows.meter_id == meter_id)) or 0

    def quiescent(self) -> bool:
        """Whether nothing can still commit a usage row below the last one seen.

        SQLite serialises writers, so sequence order is commit order; a writing session is never
        quiescent (its own rows might roll back). On PostgreSQL: this transaction wrote nothing and no
        other transaction of this database is in flight.
        """
        connection = self.session.connection()
        if self.dialect == "sqlite":
            return connection.get_execution_options().get("sqlite_begin") != "IMMEDIATE"
        # In flight = in the snapshot's xip list, unless pg_stat_activity shows that transaction belongs
        # to a backend of another database (those cannot write our rows). Hidden rows count as ours.
        self.session.execute(text("SELECT pg_stat_clear_snapshot()"))
        return bool(self.session.scalar(text(
            "SELECT pg_current_xact_id_if_assigned() IS NULL AND NOT EXISTS ("
            " SELECT 1 FROM pg_snapshot_xip(pg_current_snapshot()) AS x(xid)"
            " WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a"
            "  WHERE a.backend_xid IS NOT NULL AND a.datname IS DISTINCT FROM current_database()"
            "  AND a.backend_xid::text = (x.xid::text::numeric % 4294967296)::text))"
        )))  # fmt: skip

    def minute_totals(self, meter_id: str, subjects: tuple[str, ...], *, after_seq: int, upto_seq: int,
                      count: bool) -> list[tuple[int, Decimal]]:  # fmt: skip
        from storage.types import exact_sum

        r = self.rows
        minute = (r.time - r.time % 60).label("minute")
        measure = func.count() if count else exact_sum(r.value)
        query = (
            select(minute, measure)
            .where(r.meter_id == meter_id, r.subject.in_(subjects), r.seq > after_seq, r.seq <= upto_seq)
            .group_by(minute)
        )
        return [(int(m), Decimal(v)) for m, v in self.session.execute(query) if v is not None]
