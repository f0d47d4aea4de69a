"""OpenMeter product catalog: plans, add-ons and plan<->add-on assignments (tables and repositories).

Phases and rate cards are stored as the JSON documents the API exchanges (money as canonical decimal
strings, so amounts are exact); key + version is unique per plan and per add-on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint, and_, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.catalog.model import ACTIVE, ARCHIVED, DRAFT, Addon, ListQuery, Plan, PlanAddon
from domain.errors import ConflictError
from storage.base import Base
from storage.types import UtcDateTime

MAX_OFFSET = 2**31 - 1


class PlanRow(Base):
    __tablename__ = "om_plans"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(String(1024))
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    currency: Mapped[str] = mapped_column(String(3))
    billing_cadence: Mapped[str] = mapped_column(String(64))
    pro_rating: Mapped[dict[str, Any]] = mapped_column(JSON)
    phases: Mapped[list[Any]] = mapped_column(JSON)
    effective_from: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    effective_to: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("key", "version", name="uq_om_plans_key_version"),)


class AddonRow(Base):
    __tablename__ = "om_addons"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(String(1024))
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    currency: Mapped[str] = mapped_column(String(3))
    instance_type: Mapped[str] = mapped_column(String(16))
    rate_cards: Mapped[list[Any]] = mapped_column(JSON)
    effective_from: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    effective_to: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("key", "version", name="uq_om_addons_key_version"),)


class PlanAddonRow(Base):
    __tablename__ = "om_plan_addons"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(26), ForeignKey("om_plans.id"))
    addon_id: Mapped[str] = mapped_column(String(26), ForeignKey("om_addons.id"))
    from_plan_phase: Mapped[str] = mapped_column(String)
    max_quantity: Mapped[int | None] = mapped_column(Integer)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        # One live assignment per plan and add-on.
        Index("uq_om_plan_addons_live", "plan_id", "addon_id", unique=True,
              sqlite_where=text("deleted_at IS NULL"), postgresql_where=text("deleted_at IS NULL")),  # fmt: skip
        Index("ix_om_plan_addons_addon_id", "addon_id"),
    )


_PLAN_FIELDS = ("id", "key", "version", "name", "description", "currency", "billing_cadence", "pro_rating", "phases",
                "effective_from", "effective_to", "created_at", "updated_at", "deleted_at")  # fmt: skip
_ADDON_FIELDS = ("id", "key", "version", "name", "description", "currency", "instance_type", "rate_cards",
                 "effective_from", "effective_to", "created_at", "updated_at", "deleted_at")  # fmt: skip
_PLAN_ADDON_FIELDS = ("id", "plan_id", "addon_id", "from_plan_phase", "max_quantity", "created_at", "updated_at", "deleted_at")
_ORDER = {"id": "id", "key": "key", "version": "version", "created_at": "created_at", "updated_at": "updated_at"}


def _status_condition(row: Any, status: str, now: dt.datetime):
    """The SQL of `domain.catalog.model.status_at`."""
    if status == DRAFT:
        return row.effective_from.is_(None)
    if status == ARCHIVED:
        return and_(row.effective_from.is_not(None), row.effective_to.is_not(None), row.effective_to <= now)
    live = or_(row.effective_to.is_(None), row.effective_to > now)
    if status == ACTIVE:
        return and_(row.effective_from.is_not(None), row.effective_from <= now, live)
    return and_(row.effective_from.is_not(None), row.effective_from > now, live)  # SCHEDULED


class _VersionedRepository:
    row_type: Any
    fields: tuple[str, ...]
    domain_type: Any

    def __init__(self, session: Session):
        self.session = session

    def _to_domain(self, row: Any) -> Any:
        return self.domain_type(metadata=row.metadata_, **{name: getattr(row, name) for name in self.fields})

    def get_by_id(self, entity_id: str) -> Any:
        row = self.session.get(self.row_type, entity_id)
        return self._to_domain(row) if row else None

    def versions(self, key: str) -> list[Any]:
        """Every version of a key (deleted included), oldest first."""
        rows = self.session.scalars(select(self.row_type).where(self.row_type.key == key).order_by(self.row_type.version))
        return [self._to_domain(row) for row in rows]

    def max_version(self, key: str) -> int:
        return self.session.scalar(select(func.max(self.row_type.version)).where(self.row_type.key == key)) or 0

    def list(self, query: ListQuery, *, now: dt.datetime) -> tuple[list[Any], int]:
        row = self.row_type
        statement = select(row)
        if not query.include_deleted:
            statement = statement.where(row.deleted_at.is_(None))
        if query.ids:
            statement = statement.where(row.id.in_(query.ids))
        if query.keys:
            statement = statement.where(row.key.in_(query.keys))
        if query.key_versions:
            statement = statement.where(or_(*[and_(row.key == key, row.version.in_(versions))
                                              for key, versions in query.key_versions.items()]))  # fmt: skip
        if query.currencies and hasattr(row, "currency"):
            statement = statement.where(row.currency.in_(query.currencies))
        if query.statuses:
            statement = statement.where(or_(*[_status_condition(row, status, now) for status in query.statuses]))
        total = self.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        column = getattr(row, _ORDER.get(query.order_by, "id"))
        tie = row.id.desc() if query.descending else row.id.asc()
        statement = statement.order_by(column.desc() if query.descending else column.asc(), tie)
        offset = min((query.page - 1) * query.page_size, MAX_OFFSET)
        rows = self.session.scalars(statement.offset(offset).limit(query.page_size))
        return [self._to_domain(r) for r in rows], total

    def _write(self, entity: Any, row: Any) -> None:
        for name in self.fields:
            setattr(row, name, getattr(entity, name))
        row.metadata_ = entity.metadata
        self.session.add(row)
        try:
            self.session.flush()
        except IntegrityError:  # a concurrent request created the same key and version first
            raise ConflictError(f"another version {entity.version} of {entity.key} was created at the same time; retry") from None

    def insert(self, entity: Any) -> None:
        self._write(entity, self.row_type(id=entity.id))

    def update(self, entity: Any) -> None:
        self._write(entity, self.session.get(self.row_type, entity.id))


class PlanRepository(_VersionedRepository):
    row_type = PlanRow
    fields = _PLAN_FIELDS
    domain_type = Plan


class AddonRepository(_VersionedRepository):
    row_type = AddonRow
    fields = _ADDON_FIELDS
    domain_type = Addon


class PlanAddonRepository:
    def __init__(self, session: Session):
        self.session = session

    @staticmethod
    def _to_domain(row: PlanAddonRow) -> PlanAddon:
        return PlanAddon(metadata=row.metadata_, **{name: getattr(row, name) for name in _PLAN_ADDON_FIELDS})

    def of_plan(self, plan_id: str, *, include_deleted: bool) -> list[PlanAddon]:
        statement = select(PlanAddonRow).where(PlanAddonRow.plan_id == plan_id)
        if not include_deleted:
            statement = statement.where(PlanAddonRow.deleted_at.is_(None))
        return [self._to_domain(row) for row in self.session.scalars(statement.order_by(PlanAddonRow.id))]

    def live_plans_of_addon(self, addon_id: str) -> list[str]:
        """Ids of the live plans the add-on is assigned to."""
        statement = (
            select(PlanAddonRow.plan_id)
            .join(PlanRow, PlanRow.id == PlanAddonRow.plan_id)
            .where(PlanAddonRow.addon_id == addon_id, PlanAddonRow.deleted_at.is_(None), PlanRow.deleted_at.is_(None))
            .order_by(PlanAddonRow.plan_id)
        )
        return list(self.session.scalars(statement))

    def _write(self, assignment: PlanAddon, row: PlanAddonRow) -> None:
        for name in _PLAN_ADDON_FIELDS:
            setattr(row, name, getattr(assignment, name))
        row.metadata_ = assignment.metadata
        self.session.add(row)
        try:
            self.session.flush()
        except IntegrityError:
            raise ConflictError(f"add-on {assignment.addon_id} is already assigned to plan {assignment.plan_id}") from None

    def insert(self, assignment: PlanAddon) -> None:
        self._write(assignment, PlanAddonRow(id=assignment.id))

    def update(self, assignment: PlanAddon) -> None:
        self._write(assignment, self.session.get(PlanAddonRow, assignment.id))
