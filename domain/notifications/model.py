"""Notification channels, rules, events and per-channel delivery status (openmeter-billing.md 5)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

CHANNEL_WEBHOOK = "WEBHOOK"

RULE_BALANCE_THRESHOLD = "entitlements.balance.threshold"
RULE_ENTITLEMENT_RESET = "entitlements.reset"
RULE_INVOICE_CREATED = "invoice.created"
RULE_INVOICE_UPDATED = "invoice.updated"
RULE_TYPES = (RULE_BALANCE_THRESHOLD, RULE_ENTITLEMENT_RESET, RULE_INVOICE_CREATED, RULE_INVOICE_UPDATED)
FEATURE_RULE_TYPES = (RULE_BALANCE_THRESHOLD, RULE_ENTITLEMENT_RESET)

# Delivery states of an event to one channel.
PENDING, SENDING, SUCCESS, FAILED, RESENDING = "PENDING", "SENDING", "SUCCESS", "FAILED", "RESENDING"

ANNOTATION_RULE_TEST = "notification.rule.test"
ANNOTATION_RESEND_TIMESTAMP = "event.resend.timestamp"


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    disabled: bool
    metadata: dict[str, str] | None
    url: str
    custom_headers: dict[str, str] | None
    signing_secret: str
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = None
    type: str = CHANNEL_WEBHOOK


@dataclass(frozen=True)
class ChannelInput:
    name: str
    url: str
    disabled: bool = False
    metadata: dict[str, str] | None = None
    custom_headers: dict[str, str] | None = None
    signing_secret: str | None = None


@dataclass(frozen=True)
class Threshold:
    value: Decimal
    type: str


@dataclass(frozen=True)
class FeatureRef:
    id: str
    key: str


@dataclass(frozen=True)
class Rule:
    id: str
    type: str
    name: str
    disabled: bool
    metadata: dict[str, str] | None
    channel_ids: tuple[str, ...]
    features: tuple[FeatureRef, ...] | None
    thresholds: tuple[Threshold, ...] | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = None


@dataclass(frozen=True)
class RuleInput:
    type: str
    name: str
    channels: tuple[str, ...]
    disabled: bool = False
    metadata: dict[str, str] | None = None
    features: tuple[str, ...] | None = None
    """Feature ids or keys, as sent."""
    thresholds: tuple[Threshold, ...] | None = None


@dataclass(frozen=True)
class Attempt:
    state: str
    status_code: int | None
    body: str
    duration_ms: int
    timestamp: dt.datetime


@dataclass(frozen=True)
class Delivery:
    event_id: str
    channel_id: str
    state: str
    reason: str
    updated_at: dt.datetime
    next_attempt: dt.datetime | None
    attempts: tuple[Attempt, ...] = ()
    annotations: dict[str, Any] | None = None


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    rule_id: str
    payload: dict[str, Any]
    """The webhook body, exactly as sent: `{id, type, timestamp, data}`."""
    annotations: dict[str, Any]
    created_at: dt.datetime
    feature_key: str | None = None
    subject_key: str | None = None
    deliveries: tuple[Delivery, ...] = field(default=())
    dedupe_key: str | None = None
    """Set on balance threshold events: the same threshold fires once per rule, entitlement and usage period."""
