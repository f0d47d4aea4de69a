"""OpenMeter customers: the tables and their repository.

`om_customers` holds one row per customer; `om_customer_subjects` its usage attribution, one row per
subject key. Keys and attributed subject keys are unique among live rows only (partial unique
indexes), so a deleted customer's key and subject keys can be taken again; the indexes also settle a
race between two concurrent creates (the loser gets a 409).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, and_, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.customers import Address, Customer, CustomerFilter, UsageAttribution
from domain.errors import ConflictError
from storage.base import Base
from storage.types import UtcDateTime


class CustomerRow(Base):
    __tablename__ = "om_customers"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    key: Mapped[str | None] = mapped_column(String(256))
    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(String(1024))
    currency: Mapped[str | None] = mapped_column(String(3))
    primary_email: Mapped[str | None] = mapped_column(String(1024))
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index(
            "uq_om_customers_active_key",
            "key",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_om_customers_name", "name", "id"),
    )


class CustomerSubjectRow(Base):
    __tablename__ = "om_customer_subjects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(26), ForeignKey("om_customers.id"))
    subject_key: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index(
            "uq_om_customer_subjects_active_key",
            "subject_key",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_om_customer_subjects_customer", "customer_id"),
    )


_FIELDS = ("id", "key", "name", "description", "currency", "primary_email", "created_at", "updated_at", "deleted_at")
_ORDER = {"id": CustomerRow.id, "name": CustomerRow.name, "createdAt": CustomerRow.created_at}


def _escape_like(value: str) -> str:
    return value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(column, value: str):
    return func.lower(column).like(f"%{_escape_like(value)}%", escape="\\")


class CustomerRepository:
    def __init__(self, session: Session):
        self.session = session

    # --- reading ---------------------------------------------------------------------------

    def _subject_keys(self, rows: list[CustomerRow]) -> dict[str, tuple[str, ...]]:
        """Live customers: their live attribution; deleted ones: what they had when deleted."""
        if not rows:
            return {}
        deleted_at = {row.id: row.deleted_at for row in rows}
        result: dict[str, list[str]] = {row.id: [] for row in rows}
        attributions = self.session.scalars(
            select(CustomerSubjectRow).where(CustomerSubjectRow.customer_id.in_(list(deleted_at)))
        )
        for attribution in attributions:
            if attribution.deleted_at == deleted_at[attribution.customer_id]:
                result[attribution.customer_id].append(attribution.subject_key)
        return {customer_id: tuple(sorted(keys)) for customer_id, keys in result.items()}

    def _to_domain(self, rows: list[CustomerRow]) -> list[Customer]:
        keys = self._subject_keys(rows)
        return [
            Customer(
                metadata=row.metadata_,
                billing_address=Address.from_dict(row.billing_address),
                usage_attribution=UsageAttribution(keys[row.id]),
                **{name: getattr(row, name) for name in _FIELDS},
            )
            for row in rows
        ]

    def _one(self, row: CustomerRow | None) -> Customer | None:
        return self._to_domain([row])[0] if row is not None else None

    def get_by_id(self, customer_id: str) -> Customer | None:
        return self._one(self.session.get(CustomerRow, customer_id))

    def get_many(self, ids: list[str]) -> dict[str, Customer]:
        if not ids:
            return {}
        rows = list(self.session.scalars(select(CustomerRow).where(CustomerRow.id.in_(ids))))
        return {customer.id: customer for customer in self._to_domain(rows)}

    def get_active_by_key(self, key: str) -> Customer | None:
        row = self.session.scalars(select(CustomerRow).where(CustomerRow.key == key, CustomerRow.deleted_at.is_(None))).first()
        return self._one(row)

    def get_active_by_subject_key(self, subject_key: str) -> Customer | None:
        row = self.session.scalars(
            select(CustomerRow)
            .join(CustomerSubjectRow, CustomerSubjectRow.customer_id == CustomerRow.id)
            .where(
                CustomerSubjectRow.subject_key == subject_key,
                CustomerSubjectRow.deleted_at.is_(None),
                CustomerRow.deleted_at.is_(None),
            )
        ).first()
        return self._one(row)

    def list(
        self, filters: CustomerFilter, *, page: int, page_size: int, order_by: str, descending: bool
    ) -> tuple[list[Customer], int]:
        conditions = []
        if not filters.include_deleted:
            conditions.append(CustomerRow.deleted_at.is_(None))
        if filters.key is not None:
            conditions.append(_contains(CustomerRow.key, filters.key))
        if filters.name is not None:
            conditions.append(_contains(CustomerRow.name, filters.name))
        if filters.primary_email is not None:
            conditions.append(_contains(CustomerRow.primary_email, filters.primary_email))
        if filters.subject is not None:
            attributed = select(CustomerSubjectRow.customer_id).where(
                _contains(CustomerSubjectRow.subject_key, filters.subject),
                # A live customer's live keys; a deleted customer's keys at deletion.
                CustomerSubjectRow.customer_id == CustomerRow.id,
                (CustomerSubjectRow.deleted_at.is_(None) & CustomerRow.deleted_at.is_(None))
                | (CustomerSubjectRow.deleted_at == CustomerRow.deleted_at),
            )
            conditions.append(attributed.exists())
        if filters.customer_ids is not None:
            conditions.append(CustomerRow.id.in_(sorted(filters.customer_ids)) if filters.customer_ids else text("1 = 0"))
        where = and_(*conditions) if conditions else text("1 = 1")
        total = self.session.scalar(select(func.count()).select_from(CustomerRow).where(where)) or 0
        offset = (page - 1) * page_size
        if offset >= total:  # past the last page (also keeps huge page numbers out of SQL)
            return [], total
        column = _ORDER[order_by]
        if order_by == "name" and self.session.get_bind().dialect.name == "postgresql":
            column = column.collate("C")  # code-point order, as on SQLite, whatever the database's locale
        ordering = [column.desc() if descending else column.asc()]
        if order_by != "id":
            ordering.append(CustomerRow.id.desc() if descending else CustomerRow.id.asc())
        rows = list(
            self.session.scalars(
                select(CustomerRow).where(where).order_by(*ordering).offset(offset).limit(page_size)
            )
        )
        return self._to_domain(rows), total

    # --- writing ---------------------------------------------------------------------------

    def save(self, customer: Customer, *, now: dt.datetime) -> None:
        """Insert or update the customer and make its live attribution equal `usage_attribution`."""
        row = self.session.get(CustomerRow, customer.id) or CustomerRow(id=customer.id)
        for name in _FIELDS:
            setattr(row, name, getattr(customer, name))
        row.metadata_ = customer.metadata
        row.billing_address = customer.billing_address.as_dict() if customer.billing_address else None
        self.session.add(row)
        live = {
            attribution.subject_key: attribution
            for attribution in self.session.scalars(
                select(CustomerSubjectRow).where(
                    CustomerSubjectRow.customer_id == customer.id, CustomerSubjectRow.deleted_at.is_(None)
                )
            )
        }
        if customer.deleted_at is not None:
            # Soft delete: the attribution is kept, marked with the customer's deletion time.
            for attribution in live.values():
                attribution.deleted_at = customer.deleted_at
        else:
            wanted = set(customer.usage_attribution.subject_keys)
            for subject_key, attribution in live.items():
                if subject_key not in wanted:
                    self.session.delete(attribution)
            for subject_key in sorted(wanted - set(live)):
                self.session.add(CustomerSubjectRow(customer_id=customer.id, subject_key=subject_key, created_at=now))
        try:
            with self.session.begin_nested():
                self.session.flush()
        except IntegrityError:
            raise ConflictError("customer key or subject key already in use by another customer") from None
