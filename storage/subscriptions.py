"""OpenMeter subscriptions: the table and its repository.

Phases and their item versions are stored as one JSON document per subscription (times as RFC 3339
UTC text, money as the catalog's exact decimal strings); the columns queried by lists and the
uniqueness check (customer, plan key, active period, deletion) are real columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.subscriptions.model import Item, Phase, PlanRef, Subscription
from storage.base import Base
from storage.types import UtcDateTime


class SubscriptionRow(Base):
    __tablename__ = "om_subscriptions"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(26))
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    plan_id: Mapped[str | None] = mapped_column(String(26))
    plan_key: Mapped[str | None] = mapped_column(String(64))
    plan_version: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    billing_cadence: Mapped[str] = mapped_column(String(64))
    pro_rating: Mapped[dict[str, Any]] = mapped_column(JSON)
    billing_anchor: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    active_from: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    active_to: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSON)
    phases: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_om_subscriptions_customer", "customer_id", "active_from"),
        Index("ix_om_subscriptions_plan_key", "plan_key"),
    )


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.timezone.utc).isoformat()


def _parse(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value).astimezone(dt.timezone.utc)


def _item_doc(item: Item) -> dict[str, Any]:
    return {"id": item.id, "key": item.key, "rateCard": item.rate_card, "activeFrom": _time(item.active_from),
            "activeTo": _time(item.active_to), "createdAt": _time(item.created_at), "updatedAt": _time(item.updated_at)}  # fmt: skip


def _phase_doc(phase: Phase) -> dict[str, Any]:
    return {"id": phase.id, "key": phase.key, "name": phase.name, "description": phase.description,
            "metadata": phase.metadata, "discounts": phase.discounts, "activeFrom": _time(phase.active_from),
            "createdAt": _time(phase.created_at), "updatedAt": _time(phase.updated_at),
            "items": [_item_doc(item) for item in phase.items]}  # fmt: skip


def _item(doc: dict[str, Any]) -> Item:
    return Item(id=doc["id"], key=doc["key"], rate_card=doc["rateCard"], active_from=_parse(doc["activeFrom"]),  # type: ignore[arg-type]
                active_to=_parse(doc["activeTo"]), created_at=_parse(doc["createdAt"]), updated_at=_parse(doc["updatedAt"]))  # type: ignore[arg-type]  # fmt: skip


def _phase(doc: dict[str, Any]) -> Phase:
    return Phase(id=doc["id"], key=doc["key"], name=doc["name"], description=doc.get("description"),
                 metadata=doc.get("metadata"), discounts=doc.get("discounts"), active_from=_parse(doc["activeFrom"]),  # type: ignore[arg-type]
                 items=[_item(item) for item in doc["items"]], created_at=_parse(doc["createdAt"]),  # type: ignore[arg-type]
                 updated_at=_parse(doc["updatedAt"]))  # type: ignore[arg-type]  # fmt: skip


def _to_domain(row: SubscriptionRow) -> Subscription:
    plan = PlanRef(row.plan_id, row.plan_key, row.plan_version) if row.plan_id and row.plan_key and row.plan_version else None
    return Subscription(
        id=row.id, customer_id=row.customer_id, name=row.name, description=row.description, metadata=row.metadata_,
        plan=plan, currency=row.currency, billing_cadence=row.billing_cadence, pro_rating=dict(row.pro_rating),
        billing_anchor=row.billing_anchor, active_from=row.active_from, active_to=row.active_to,
        phases=[_phase(doc) for doc in row.phases], created_at=row.created_at, updated_at=row.updated_at,
        deleted_at=row.deleted_at, annotations=dict(row.annotations or {}),
    )  # fmt: skip


class SubscriptionRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, subscription_id: str) -> Subscription | None:
        row = self.session.get(SubscriptionRow, subscription_id)
        return _to_domain(row) if row else None

    def of_customer(self, customer_id: str) -> list[Subscription]:
        """Every live (not deleted) subscription of the customer, oldest start first."""
        rows = self.session.scalars(
            select(SubscriptionRow)
            .where(SubscriptionRow.customer_id == customer_id, SubscriptionRow.deleted_at.is_(None))
            .order_by(SubscriptionRow.active_from, SubscriptionRow.id)
        )
        return [_to_domain(row) for row in rows]

    def running_of_customers(self, customer_ids: Collection[str], at: dt.datetime) -> list[Subscription]:
        """The subscriptions of these customers that run at `at` (started, not ended, not deleted),
        in one query; by customer, then oldest start first."""
        if not customer_ids:
            return []
        rows = self.session.scalars(
            select(SubscriptionRow)
            .where(
                SubscriptionRow.customer_id.in_(sorted(set(customer_ids))),
                or_(SubscriptionRow.deleted_at.is_(None), SubscriptionRow.deleted_at > at),
                SubscriptionRow.active_from <= at,
                or_(SubscriptionRow.active_to.is_(None), SubscriptionRow.active_to > at),
            )
            .order_by(SubscriptionRow.customer_id, SubscriptionRow.active_from, SubscriptionRow.id)
        )
        return [_to_domain(row) for row in rows]

    def customers_with_plan_key(self, plan_key: str, now: dt.datetime) -> set[str]:
        """Customers whose subscription active at `now` is on a plan with this key."""
        rows = self.session.execute(
            select(SubscriptionRow.customer_id, SubscriptionRow.active_to).where(
                SubscriptionRow.plan_key == plan_key,
                SubscriptionRow.deleted_at.is_(None),
                SubscriptionRow.active_from <= now,
            )
        )
        return {customer_id for customer_id, active_to in rows if active_to is None or active_to > now}

    def lock_customer(self, customer_id: str) -> None:
        """Serialise the writes of one customer's subscriptions (row lock on PostgreSQL)."""
        from storage.customers import CustomerRow

        self.session.execute(select(CustomerRow.id).where(CustomerRow.id == customer_id).with_for_update())

    def save(self, subscription: Subscription) -> None:
        row = self.session.get(SubscriptionRow, subscription.id) or SubscriptionRow(id=subscription.id)
        for name in ("customer_id", "name", "description", "currency", "billing_cadence", "billing_anchor",
                     "active_from", "active_to", "created_at", "updated_at", "deleted_at"):  # fmt: skip
            setattr(row, name, getattr(subscription, name))
        row.metadata_ = subscription.metadata
        row.plan_id = subscription.plan.id if subscription.plan else None
        row.plan_key = subscription.plan.key if subscription.plan else None
        row.plan_version = subscription.plan.version if subscription.plan else None
        row.pro_rating = dict(subscription.pro_rating)
        row.annotations = dict(subscription.annotations)
        row.phases = [_phase_doc(phase) for phase in subscription.phases]
        self.session.add(row)
        self.session.flush()


class SubscriptionAddonRow(Base):
    __tablename__ = "om_subscription_addons"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(26), index=True)
    addon_id: Mapped[str] = mapped_column(String(26))
    name: Mapped[str] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    segments: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    affected: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class SubscriptionAddonRepository:
    def __init__(self, session: Session):
        self.session = session

    @staticmethod
    def _to_domain(row: SubscriptionAddonRow) -> Any:
        from domain.subscriptions.addons import Segment, SubscriptionAddon

        return SubscriptionAddon(
            id=row.id, subscription_id=row.subscription_id, addon_id=row.addon_id, name=row.name, metadata=row.metadata_,
            segments=[Segment(_parse(s["activeFrom"]), int(s["quantity"])) for s in row.segments],  # type: ignore[arg-type]
            affected={key: list(ids) for key, ids in (row.affected or {}).items()},
            created_at=row.created_at, updated_at=row.updated_at, deleted_at=row.deleted_at,
        )  # fmt: skip

    def of_subscription(self, subscription_id: str) -> list[Any]:
        rows = self.session.scalars(
            select(SubscriptionAddonRow)
            .where(SubscriptionAddonRow.subscription_id == subscription_id, SubscriptionAddonRow.deleted_at.is_(None))
            .order_by(SubscriptionAddonRow.id)
        )
        return [self._to_domain(row) for row in rows]

    def save(self, instance: Any) -> None:
        row = self.session.get(SubscriptionAddonRow, instance.id) or SubscriptionAddonRow(id=instance.id)
        for name in ("subscription_id", "addon_id", "name", "created_at", "updated_at", "deleted_at"):
            setattr(row, name, getattr(instance, name))
        row.metadata_ = instance.metadata
        row.segments = [{"activeFrom": _time(s.active_from), "quantity": s.quantity} for s in instance.segments]
        row.affected = {key: list(ids) for key, ids in instance.affected.items()}
        self.session.add(row)
        self.session.flush()
