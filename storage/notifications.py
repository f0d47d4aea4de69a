"""OpenMeter notifications: channels, rules, events and the delivery outbox (one row per event and channel)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, and_, event, func, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.notifications.model import (
    PENDING,
    RESENDING,
    SENDING,
    Attempt,
    Channel,
    Delivery,
    Event,
    FeatureRef,
    Rule,
    Threshold,
)
from storage.base import Base
from storage.types import UtcDateTime, decimal_text

logger = logging.getLogger("tollgate.notifications")


class NotificationChannelRow(Base):
    __tablename__ = "om_notification_channels"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(256))
    disabled: Mapped[bool] = mapped_column(Boolean)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    url: Mapped[str] = mapped_column(Text)
    custom_headers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    signing_secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class NotificationRuleRow(Base):
    __tablename__ = "om_notification_rules"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(256))
    disabled: Mapped[bool] = mapped_column(Boolean)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    channel_ids: Mapped[list[str]] = mapped_column(JSON)
    features: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    thresholds: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    """`[{"value": "<decimal text>", "type": ...}]`: exact values, never floats."""
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class NotificationEventRow(Base):
    __tablename__ = "om_notification_events"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[str] = mapped_column(String(26), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSON)
    feature_key: Mapped[str | None] = mapped_column(String(64))
    subject_key: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(512))

    __table_args__ = (Index("uq_om_notification_events_rule_dedupe", "rule_id", "dedupe_key", unique=True),)


class NotificationDeliveryRow(Base):
    """The outbox: what must still be sent is a row in PENDING or RESENDING whose next_attempt has come."""

    __tablename__ = "om_notification_deliveries"

    event_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    next_attempt: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    annotations: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempt_count: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_om_notification_deliveries_state_next", "state", "next_attempt"),)


# --- conversions -------------------------------------------------------------------------------


def _channel(row: NotificationChannelRow) -> Channel:
    return Channel(
        id=row.id, type=row.type, name=row.name, disabled=row.disabled, metadata=row.metadata_, url=row.url,
        custom_headers=row.custom_headers, signing_secret=row.signing_secret, created_at=row.created_at,
        updated_at=row.updated_at, deleted_at=row.deleted_at,
    )  # fmt: skip


def _rule(row: NotificationRuleRow) -> Rule:
    features = tuple(FeatureRef(id=f["id"], key=f["key"]) for f in row.features) if row.features is not None else None
    thresholds = (
        tuple(Threshold(value=Decimal(t["value"]), type=t["type"]) for t in row.thresholds) if row.thresholds is not None else None
    )
    return Rule(
        id=row.id, type=row.type, name=row.name, disabled=row.disabled, metadata=row.metadata_,
        channel_ids=tuple(row.channel_ids), features=features, thresholds=thresholds, created_at=row.created_at,
        updated_at=row.updated_at, deleted_at=row.deleted_at,
    )  # fmt: skip


def _attempt_json(attempt: Attempt) -> dict[str, Any]:
    return {"state": attempt.state, "statusCode": attempt.status_code, "body": attempt.body,
            "durationMs": attempt.duration_ms, "timestamp": attempt.timestamp.isoformat()}  # fmt: skip


def _attempt(data: dict[str, Any]) -> Attempt:
    return Attempt(state=data["state"], status_code=data.get("statusCode"), body=data.get("body", ""),
                   duration_ms=int(data.get("durationMs", 0)), timestamp=dt.datetime.fromisoformat(data["timestamp"]))  # fmt: skip


def _delivery(row: NotificationDeliveryRow) -> Delivery:
    return Delivery(
        event_id=row.event_id, channel_id=row.channel_id, state=row.state, reason=row.reason, updated_at=row.updated_at,
        next_attempt=row.next_attempt, attempts=tuple(_attempt(a) for a in row.attempts or []), annotations=row.annotations,
    )  # fmt: skip


def _event(row: NotificationEventRow, deliveries: list[Delivery]) -> Event:
    return Event(
        id=row.id, type=row.type, rule_id=row.rule_id, payload=row.payload, annotations=row.annotations or {},
        created_at=row.created_at, feature_key=row.feature_key, subject_key=row.subject_key, dedupe_key=row.dedupe_key,
        deliveries=tuple(sorted(deliveries, key=lambda d: d.channel_id)),
    )  # fmt: skip


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's transaction has committed (never when it rolls back).

    The work is durable by then: a failing callback is logged, never raised into the request.
    """

    def run(_session: Session) -> None:
        try:
            callback()
        except Exception:  # noqa: BLE001
            logger.exception("after-commit callback failed")

    event.listen(session, "after_commit", run, once=True)


# --- repositories ------------------------------------------------------------------------------


class ChannelRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, channel_id: str) -> Channel | None:
        row = self.session.get(NotificationChannelRow, channel_id)
        return _channel(row) if row else None

    def get_many(self, ids: list[str]) -> dict[str, Channel]:
        if not ids:
            return {}
        rows = self.session.scalars(select(NotificationChannelRow).where(NotificationChannelRow.id.in_(ids)))
        return {row.id: _channel(row) for row in rows}

    def list(self, *, include_deleted: bool, include_disabled: bool) -> list[Channel]:
        query = select(NotificationChannelRow)
        if not include_deleted:
            query = query.where(NotificationChannelRow.deleted_at.is_(None))
        if not include_disabled:
            query = query.where(NotificationChannelRow.disabled.is_(False))
        return [_channel(row) for row in self.session.scalars(query.order_by(NotificationChannelRow.id))]

    def save(self, channel: Channel) -> None:
        row = self.session.get(NotificationChannelRow, channel.id) or NotificationChannelRow(id=channel.id)
        for name in ("type", "name", "disabled", "url", "custom_headers", "signing_secret", "created_at", "updated_at", "deleted_at"):
            setattr(row, name, getattr(channel, name))
        row.metadata_ = channel.metadata
        self.session.add(row)
        self.session.flush()


class RuleRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, rule_id: str) -> Rule | None:
        row = self.session.get(NotificationRuleRow, rule_id)
        return _rule(row) if row else None

    def get_many(self, ids: list[str]) -> dict[str, Rule]:
        if not ids:
            return {}
        rows = self.session.scalars(select(NotificationRuleRow).where(NotificationRuleRow.id.in_(ids)))
        return {row.id: _rule(row) for row in rows}

    def list(self, *, include_deleted: bool, include_disabled: bool) -> list[Rule]:
        query = select(NotificationRuleRow)
        if not include_deleted:
            query = query.where(NotificationRuleRow.deleted_at.is_(None))
        if not include_disabled:
            query = query.where(NotificationRuleRow.disabled.is_(False))
        return [_rule(row) for row in self.session.scalars(query.order_by(NotificationRuleRow.id))]

    def save(self, rule: Rule) -> None:
        row = self.session.get(NotificationRuleRow, rule.id) or NotificationRuleRow(id=rule.id)
        for name in ("type", "name", "disabled", "created_at", "updated_at", "deleted_at"):
            setattr(row, name, getattr(rule, name))
        row.metadata_ = rule.metadata
        row.channel_ids = list(rule.channel_ids)
        row.features = [{"id": f.id, "key": f.key} for f in rule.features] if rule.features is not None else None
        row.thresholds = (
            [{"value": decimal_text(t.value), "type": t.type} for t in rule.thresholds] if rule.thresholds is not None else None
        )
        self.session.add(row)
        self.session.flush()


_MAX_OFFSET = 2**62


class EventRepository:
    def __init__(self, session: Session):
        self.session = session

    def _deliveries(self, event_ids: list[str]) -> dict[str, list[Delivery]]:
        result: dict[str, list[Delivery]] = {event_id: [] for event_id in event_ids}
        if not event_ids:
            return result
        rows = self.session.scalars(select(NotificationDeliveryRow).where(NotificationDeliveryRow.event_id.in_(event_ids)))
        for row in rows:
            result[row.event_id].append(_delivery(row))
        return result

    def get(self, event_id: str) -> Event | None:
        row = self.session.get(NotificationEventRow, event_id)
        return _event(row, self._deliveries([row.id])[row.id]) if row else None

    def add(self, event_: Event) -> None:
        self.session.add(NotificationEventRow(
            id=event_.id, type=event_.type, rule_id=event_.rule_id, payload=event_.payload, annotations=event_.annotations,
            feature_key=event_.feature_key, subject_key=event_.subject_key, created_at=event_.created_at,
            dedupe_key=event_.dedupe_key,
        ))  # fmt: skip
        self.session.flush()
        for delivery in event_.deliveries:
            self.save_delivery(delivery)

    def set_annotations(self, event_id: str, annotations: dict[str, Any]) -> None:
        row = self.session.get(NotificationEventRow, event_id)
        if row is not None:
            row.annotations = dict(annotations)
            self.session.flush()

    def save_delivery(self, delivery: Delivery) -> None:
        row = self.session.get(NotificationDeliveryRow, (delivery.event_id, delivery.channel_id))
        if row is None:
            row = NotificationDeliveryRow(event_id=delivery.event_id, channel_id=delivery.channel_id)
        row.state = delivery.state
        row.reason = delivery.reason
        row.updated_at = delivery.updated_at
        row.next_attempt = delivery.next_attempt
        row.attempts = [_attempt_json(a) for a in delivery.attempts]
        row.attempt_count = len(delivery.attempts)
        row.annotations = delivery.annotations
        self.session.add(row)
        self.session.flush()

    def list(self, *, created_from: dt.datetime | None, created_to: dt.datetime | None, features: list[str] | None,
             subjects: list[str] | None, rules: list[str] | None, channels: list[str] | None, order_by: str,
             descending: bool, offset: int, limit: int) -> tuple[list[Event], int]:  # fmt: skip
        query = select(NotificationEventRow)
        if created_from is not None:
            query = query.where(NotificationEventRow.created_at >= created_from)
        if created_to is not None:
            query = query.where(NotificationEventRow.created_at <= created_to)
        if features:
            query = query.where(NotificationEventRow.feature_key.in_(features))
        if subjects:
            query = query.where(NotificationEventRow.subject_key.in_(subjects))
        if rules:
            query = query.where(NotificationEventRow.rule_id.in_(rules))
        if channels:
            with_channel = select(NotificationDeliveryRow.event_id).where(NotificationDeliveryRow.channel_id.in_(channels))
            query = query.where(NotificationEventRow.id.in_(with_channel))
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        if offset >= min(total, _MAX_OFFSET):
            return [], total
        column = NotificationEventRow.created_at if order_by == "createdAt" else NotificationEventRow.id
        ordering = [column.desc(), NotificationEventRow.id.desc()] if descending else [column.asc(), NotificationEventRow.id.asc()]
        rows = list(self.session.scalars(query.order_by(*ordering).offset(offset).limit(limit)))
        deliveries = self._deliveries([row.id for row in rows])
        return [_event(row, deliveries[row.id]) for row in rows], total

    # --- the outbox ------------------------------------------------------------------------

    def due_deliveries(self, now: dt.datetime, *, stale_before: dt.datetime, limit: int = 50) -> list[tuple[str, str]]:
        """(event id, channel id) of deliveries to send now, including SENDING ones abandoned by a dead worker."""
        query = (
            select(NotificationDeliveryRow.event_id, NotificationDeliveryRow.channel_id)
            .where(or_(
                and_(NotificationDeliveryRow.state.in_((PENDING, RESENDING)), NotificationDeliveryRow.next_attempt <= now),
                and_(NotificationDeliveryRow.state == SENDING, NotificationDeliveryRow.updated_at < stale_before),
            ))  # fmt: skip
            .order_by(NotificationDeliveryRow.next_attempt, NotificationDeliveryRow.event_id)
            .limit(limit)
        )
        return [(row.event_id, row.channel_id) for row in self.session.execute(query)]

    def next_due(self) -> dt.datetime | None:
        return self.session.scalar(
            select(func.min(NotificationDeliveryRow.next_attempt)).where(NotificationDeliveryRow.state.in_((PENDING, RESENDING)))
        )

    def claim(self, event_id: str, channel_id: str, *, now: dt.datetime, stale_before: dt.datetime) -> bool:
        """Mark one delivery SENDING; False when another worker got there first."""
        result = self.session.execute(
            update(NotificationDeliveryRow)
            .where(
                NotificationDeliveryRow.event_id == event_id,
                NotificationDeliveryRow.channel_id == channel_id,
                or_(NotificationDeliveryRow.state.in_((PENDING, RESENDING)),
                    and_(NotificationDeliveryRow.state == SENDING, NotificationDeliveryRow.updated_at < stale_before)),
            )  # fmt: skip
            .values(state=SENDING, updated_at=now)
        )
        return result.rowcount == 1

    def delivery(self, event_id: str, channel_id: str) -> Delivery | None:
        row = self.session.get(NotificationDeliveryRow, (event_id, channel_id))
        return _delivery(row) if row else None

    def has_dedupe_key(self, rule_id: str, key: str) -> bool:
        """True when the rule already produced an event annotated with this dedupe key."""
        found = self.session.scalar(
            select(NotificationEventRow.id).where(NotificationEventRow.rule_id == rule_id, NotificationEventRow.dedupe_key == key)
        )
        return found is not None

    def event_row(self, event_id: str) -> Event | None:
        row = self.session.get(NotificationEventRow, event_id)
        return _event(row, []) if row else None
