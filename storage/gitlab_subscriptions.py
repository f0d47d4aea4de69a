"""Tables and repository of the GitLab Subscriptions API: subscriptions, namespace limits, upcoming
reconciliations, credit card validations, add-on purchases and compute minutes packs."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, UniqueConstraint, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.gitlab.subscriptions_model import (
    AddOnPurchase,
    CreditCardValidation,
    MinutesPack,
    NamespaceLimits,
    Subscription,
    UpcomingReconciliation,
)
from storage.base import Base
from storage.gitlab_entities import NamespaceRow
from storage.types import UtcDateTime


class SubscriptionRow(Base):
    __tablename__ = "gl_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("gl_namespaces.id", ondelete="CASCADE"), unique=True)
    plan_code: Mapped[str | None] = mapped_column(String(64))
    seats: Mapped[int | None] = mapped_column(Integer)
    seats_in_use: Mapped[int] = mapped_column(Integer)
    max_seats_used: Mapped[int | None] = mapped_column(Integer)
    max_seats_used_changed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    seats_owed: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    auto_renew: Mapped[bool | None] = mapped_column(Boolean)
    trial: Mapped[bool] = mapped_column(Boolean)
    trial_starts_on: Mapped[dt.date | None] = mapped_column(Date)
    trial_ends_on: Mapped[dt.date | None] = mapped_column(Date)
    trial_extension_type: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class NamespaceLimitsRow(Base):
    __tablename__ = "gl_namespace_limits"

    namespace_id: Mapped[int] = mapped_column(ForeignKey("gl_namespaces.id", ondelete="CASCADE"), primary_key=True)
    shared_runners_minutes_limit: Mapped[int | None] = mapped_column(Integer)
    extra_shared_runners_minutes_limit: Mapped[int | None] = mapped_column(Integer)
    additional_purchased_storage_size: Mapped[int] = mapped_column(Integer)
    additional_purchased_storage_ends_on: Mapped[dt.date | None] = mapped_column(Date)
    duo_core_features_enabled: Mapped[bool | None] = mapped_column(Boolean)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class UpcomingReconciliationRow(Base):
    __tablename__ = "gl_upcoming_reconciliations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("gl_namespaces.id", ondelete="CASCADE"), unique=True)
    next_reconciliation_date: Mapped[dt.date] = mapped_column(Date)
    display_alert_from: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class CreditCardValidationRow(Base):
    __tablename__ = "gl_credit_card_validations"

    user_id: Mapped[int] = mapped_column(ForeignKey("gl_users.id", ondelete="CASCADE"), primary_key=True)
    credit_card_validated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    zuora_payment_method_xid: Mapped[str | None] = mapped_column(String(50), unique=True)
    stripe_setup_intent_xid: Mapped[str | None] = mapped_column(String(255))
    stripe_payment_method_xid: Mapped[str | None] = mapped_column(String(255))
    stripe_card_fingerprint: Mapped[str | None] = mapped_column(String(255), index=True)
    last_digits_hash: Mapped[str] = mapped_column(String(44))
    holder_name_hash: Mapped[str] = mapped_column(String(44))
    network_hash: Mapped[str] = mapped_column(String(44))
    expiration_date_hash: Mapped[str] = mapped_column(String(44))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class InstanceSecretRow(Base):
    __tablename__ = "gl_instance_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


class AddOnPurchaseRow(Base):
    __tablename__ = "gl_add_on_purchases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("gl_namespaces.id", ondelete="CASCADE"))
    add_on: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    started_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date] = mapped_column(Date)
    purchase_xid: Mapped[str] = mapped_column(String(255))
    trial: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("namespace_id", "add_on"),)


class MinutesPackRow(Base):
    __tablename__ = "gl_ci_minutes_packs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("gl_namespaces.id", ondelete="CASCADE"), index=True)
    number_of_minutes: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[dt.date] = mapped_column(Date)
    purchase_xid: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


_SUBSCRIPTION_FIELDS = ("id", "namespace_id", "plan_code", "seats", "seats_in_use", "max_seats_used",
                        "max_seats_used_changed_at", "seats_owed", "start_date", "end_date", "auto_renew", "trial",
                        "trial_starts_on", "trial_ends_on", "trial_extension_type", "created_at", "updated_at")  # fmt: skip
_LIMIT_FIELDS = ("namespace_id", "shared_runners_minutes_limit", "extra_shared_runners_minutes_limit",
                 "additional_purchased_storage_size", "additional_purchased_storage_ends_on", "duo_core_features_enabled")  # fmt: skip
_ADD_ON_FIELDS = ("id", "namespace_id", "add_on", "quantity", "started_on", "expires_on", "purchase_xid", "trial")


def _subscription(row: SubscriptionRow) -> Subscription:
    return Subscription(**{name: getattr(row, name) for name in _SUBSCRIPTION_FIELDS})


def _add_on(row: AddOnPurchaseRow) -> AddOnPurchase:
    return AddOnPurchase(**{name: getattr(row, name) for name in _ADD_ON_FIELDS})


def _pack(row: MinutesPackRow) -> MinutesPack:
    return MinutesPack(id=row.id, namespace_id=row.namespace_id, number_of_minutes=row.number_of_minutes,
                       expires_at=row.expires_at, purchase_xid=row.purchase_xid)  # fmt: skip


class SubscriptionRepository:
    def __init__(self, session: Session):
        self.session = session

    def lock_namespaces(self, *namespace_ids: int) -> None:
        """Serialise writers of these namespaces (row locks in id order; SQLite writers are serial already)."""
        for namespace_id in sorted(set(namespace_ids)):
            self.session.execute(select(NamespaceRow.id).where(NamespaceRow.id == namespace_id).with_for_update())

    # --- subscriptions -------------------------------------------------------------------------
    def subscription(self, namespace_id: int) -> Subscription | None:
        row = self.session.scalars(select(SubscriptionRow).where(SubscriptionRow.namespace_id == namespace_id)).first()
        return _subscription(row) if row else None

    def save_subscription(self, subscription: Subscription) -> Subscription:
        row = self.session.get(SubscriptionRow, subscription.id) if subscription.id else None
        row = row or SubscriptionRow()
        for name in _SUBSCRIPTION_FIELDS:
            if name != "id" or subscription.id:
                setattr(row, name, getattr(subscription, name))
        self.session.add(row)
        self.session.flush()
        return _subscription(row)

    def create_subscription_if_missing(self, subscription: Subscription) -> Subscription | None:
        """Insert unless the namespace has one; None when a concurrent request created it first, or
        when this (read) transaction cannot write now (SQLite: another writer committed meanwhile)."""
        try:
            with self.session.begin_nested():
                row = SubscriptionRow(**{name: getattr(subscription, name) for name in _SUBSCRIPTION_FIELDS if name != "id"})
                self.session.add(row)
                self.session.flush()
        except (IntegrityError, OperationalError):
            return None
        return _subscription(row)

    # --- namespace limits ----------------------------------------------------------------------
    def limits(self, namespace_id: int) -> NamespaceLimits:
        row = self.session.get(NamespaceLimitsRow, namespace_id)
        if row is None:
            return NamespaceLimits(namespace_id=namespace_id)
        return NamespaceLimits(**{name: getattr(row, name) for name in _LIMIT_FIELDS})

    def save_limits(self, limits: NamespaceLimits, *, now: dt.datetime) -> None:
        row = self.session.get(NamespaceLimitsRow, limits.namespace_id) or NamespaceLimitsRow(namespace_id=limits.namespace_id)
        for name in _LIMIT_FIELDS:
            setattr(row, name, getattr(limits, name))
        row.updated_at = now
        self.session.add(row)
        self.session.flush()

    # --- upcoming reconciliations --------------------------------------------------------------
    def reconciliation(self, namespace_id: int) -> UpcomingReconciliation | None:
        row = self.session.scalars(select(UpcomingReconciliationRow).where(UpcomingReconciliationRow.namespace_id == namespace_id)).first()
        if row is None:
            return None
        return UpcomingReconciliation(id=row.id, namespace_id=row.namespace_id, next_reconciliation_date=row.next_reconciliation_date,
                                      display_alert_from=row.display_alert_from)  # fmt: skip

    def upsert_reconciliation(self, namespace_id: int, *, next_date: dt.date, alert_from: dt.date, now: dt.datetime) -> UpcomingReconciliation:
        row = self.session.scalars(select(UpcomingReconciliationRow).where(UpcomingReconciliationRow.namespace_id == namespace_id)).first()
        if row is None:
            row = UpcomingReconciliationRow(namespace_id=namespace_id, created_at=now)
            self.session.add(row)
        row.next_reconciliation_date, row.display_alert_from, row.updated_at = next_date, alert_from, now
        self.session.flush()
        return self.reconciliation(namespace_id)

    def delete_reconciliation(self, namespace_id: int) -> bool:
        row = self.session.scalars(select(UpcomingReconciliationRow).where(UpcomingReconciliationRow.namespace_id == namespace_id)).first()
        if row is None:
            return False
        self.session.delete(row)
        self.session.flush()
        return True

    # --- credit card validations ---------------------------------------------------------------
    def instance_secret(self, name: str) -> str:
        row = self.session.get(InstanceSecretRow, name)
        if row is None:
            try:
                with self.session.begin_nested():
                    row = InstanceSecretRow(name=name, value=secrets.token_hex(32))
                    self.session.add(row)
                    self.session.flush()
            except IntegrityError:  # a concurrent request created it first: use that one
                row = self.session.scalars(select(InstanceSecretRow).where(InstanceSecretRow.name == name)).one()
        return row.value

    def credit_card_validation(self, user_id: int) -> CreditCardValidation | None:
        row = self.session.get(CreditCardValidationRow, user_id)
        if row is None:
            return None
        return CreditCardValidation(**{c: getattr(row, c) for c in CreditCardValidation.__dataclass_fields__})

    def zuora_xid_taken_by_other(self, xid: str, user_id: int) -> bool:
        return bool(self.session.scalar(select(func.count()).select_from(CreditCardValidationRow).where(
            CreditCardValidationRow.zuora_payment_method_xid == xid, CreditCardValidationRow.user_id != user_id)))  # fmt: skip

    def recent_fingerprint_uses(self, fingerprint: str, *, since: dt.datetime, user_id: int) -> int:
        return self.session.scalar(select(func.count()).select_from(CreditCardValidationRow).where(
            CreditCardValidationRow.stripe_card_fingerprint == fingerprint,
            CreditCardValidationRow.credit_card_validated_at >= since,
            CreditCardValidationRow.user_id != user_id)) or 0  # fmt: skip

    def save_credit_card_validation(self, record: CreditCardValidation) -> bool:
        """False when a concurrent request took the zuora id (or created this user's record) first."""
        row = self.session.get(CreditCardValidationRow, record.user_id) or CreditCardValidationRow(user_id=record.user_id)
        try:
            with self.session.begin_nested():
                for name in CreditCardValidation.__dataclass_fields__:
                    setattr(row, name, getattr(record, name))
                self.session.add(row)
                self.session.flush()
        except IntegrityError:
            return False
        return True

    # --- add-on purchases ----------------------------------------------------------------------
    def add_on_purchase(self, namespace_id: int, add_on: str) -> AddOnPurchase | None:
        row = self.session.scalars(select(AddOnPurchaseRow).where(AddOnPurchaseRow.namespace_id == namespace_id,
                                                                  AddOnPurchaseRow.add_on == add_on)).first()  # fmt: skip
        return _add_on(row) if row else None

    def save_add_on_purchase(self, purchase: AddOnPurchase, *, now: dt.datetime) -> AddOnPurchase:
        row = self.session.get(AddOnPurchaseRow, purchase.id) if purchase.id else None
        if row is None:
            row = AddOnPurchaseRow(created_at=now)
            self.session.add(row)
        for name in _ADD_ON_FIELDS:
            if name != "id":
                setattr(row, name, getattr(purchase, name))
        row.updated_at = now
        self.session.flush()
        return _add_on(row)

    # --- compute minutes packs -----------------------------------------------------------------
    def pack_by_xid(self, purchase_xid: str) -> MinutesPack | None:
        row = self.session.scalars(select(MinutesPackRow).where(MinutesPackRow.purchase_xid == purchase_xid)).first()
        return _pack(row) if row else None

    def add_pack(self, *, namespace_id: int, number_of_minutes: int, expires_at: dt.date, purchase_xid: str,
                 now: dt.datetime) -> MinutesPack | None:  # fmt: skip
        """The new pack, or None when another transaction took the purchase_xid first."""
        row = MinutesPackRow(namespace_id=namespace_id, number_of_minutes=number_of_minutes, expires_at=expires_at,
                             purchase_xid=purchase_xid, created_at=now)  # fmt: skip
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except IntegrityError:
            return None
        return _pack(row)

    def packs(self, namespace_id: int) -> list[MinutesPack]:
        rows = self.session.scalars(select(MinutesPackRow).where(MinutesPackRow.namespace_id == namespace_id).order_by(MinutesPackRow.id))
        return [_pack(row) for row in rows]

    def move_packs(self, source_id: int, target_id: int) -> int:
        result = self.session.execute(update(MinutesPackRow).where(MinutesPackRow.namespace_id == source_id).values(namespace_id=target_id))
        self.session.flush()
        return result.rowcount or 0
