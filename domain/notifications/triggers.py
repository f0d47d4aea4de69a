"""Hooks other domains call to produce notification events (openmeter-billing.md 5, "Event production").

Nothing here is wired into the entitlement or billing code yet; they call these functions in their
own unit of work, and pass `on_commit` (in a handler:
`domain.notifications.delivery.dispatcher(ctx.database, ctx.settings.webhook_allowed_hosts).wake`) so
the events are sent once their transaction commits.

- `balance_snapshot`: evaluates every enabled `entitlements.balance.threshold` rule whose features
  match (by id or key; a rule without features matches every feature). A threshold is active when
  usage_value/NUMBER: value < usage; usage_percentage/PERCENT: total x value / 100 < usage, with
  total = balance + usage - overage (skipped without grants); balance_value: value > balance, or
  value >= balance when value is 0. Per rule at most the highest active usage-kind threshold and
  the lowest active balance-kind threshold fire, each at most once per (rule, entitlement, usage
  period, kind, threshold).
- `entitlement_reset`: one event per enabled `entitlements.reset` rule matching the feature.
- `invoice_changed`: one event per enabled `invoice.created` / `invoice.updated` rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy.orm import Session

from domain.notifications.model import (
    RULE_BALANCE_THRESHOLD,
    RULE_ENTITLEMENT_RESET,
    RULE_INVOICE_CREATED,
    RULE_INVOICE_UPDATED,
    Event,
    Rule,
    Threshold,
)
from domain.notifications.service import EventService

USAGE_VALUE_TYPES = frozenset({"usage_value", "NUMBER"})
USAGE_PERCENT_TYPES = frozenset({"usage_percentage", "PERCENT"})
BALANCE_TYPES = frozenset({"balance_value"})


@dataclass(frozen=True)
class BalanceSnapshot:
    """What the entitlement engine knows at one moment, plus the API-shaped payload parts."""

    entitlement_id: str
    feature_id: str
    feature_key: str
    subject_key: str
    usage_period_start: dt.datetime
    balance: Decimal
    usage: Decimal
    overage: Decimal
    has_grants: bool
    data: dict[str, Any]
    """`{entitlement, feature, subject, value, customer?}` in the API's shapes (the webhook payload data)."""


def _matches(rule: Rule, feature_id: str, feature_key: str) -> bool:
    return rule.features is None or any(f.id == feature_id or f.key == feature_key for f in rule.features)


def _enabled_rules(session: Session, rule_type: str) -> list[Rule]:
    from storage.notifications import RuleRepository

    return [rule for rule in RuleRepository(session).list(include_deleted=False, include_disabled=False) if rule.type == rule_type]


def active_thresholds(rule: Rule, snapshot: BalanceSnapshot) -> list[Threshold]:
    """The thresholds that fire: the highest active usage-kind one and the lowest active balance-kind one."""
    usage_kind: list[tuple[Decimal, Threshold]] = []
    balance_kind: list[Threshold] = []
    total = snapshot.balance + snapshot.usage - snapshot.overage
    for threshold in rule.thresholds or ():
        if threshold.type in USAGE_VALUE_TYPES and threshold.value < snapshot.usage:
            usage_kind.append((threshold.value, threshold))
        elif threshold.type in USAGE_PERCENT_TYPES and snapshot.has_grants and total * threshold.value / 100 < snapshot.usage:
            usage_kind.append((total * threshold.value / 100, threshold))
        elif threshold.type in BALANCE_TYPES and (
            threshold.value > snapshot.balance or (threshold.value == 0 and threshold.value >= snapshot.balance)
        ):
            balance_kind.append(threshold)
    fired = []
    if usage_kind:
        fired.append(max(usage_kind, key=lambda item: item[0])[1])
    if balance_kind:
        fired.append(min(balance_kind, key=lambda threshold: threshold.value))
    return fired


def _dedupe_key(rule: Rule, snapshot: BalanceSnapshot, threshold: Threshold) -> str:
    kind = "balance" if threshold.type in BALANCE_TYPES else "usage"
    return "|".join((rule.id, snapshot.entitlement_id, snapshot.usage_period_start.isoformat(), kind, threshold.type,
                     format(threshold.value.normalize(), "f")))  # fmt: skip


def balance_snapshot(session: Session, snapshot: BalanceSnapshot, *, now: dt.datetime,
                     on_commit: Callable[[], None] | None = None) -> list[Event]:  # fmt: skip
    from storage.notifications import EventRepository

    events = EventService(session, on_commit=on_commit)
    repository = EventRepository(session)
    created = []
    for rule in _enabled_rules(session, RULE_BALANCE_THRESHOLD):
        if not _matches(rule, snapshot.feature_id, snapshot.feature_key):
            continue
        for threshold in active_thresholds(rule, snapshot):
            key = _dedupe_key(rule, snapshot, threshold)
            if repository.has_dedupe_key(rule.id, key):
                continue
            value = threshold.value if threshold.value != threshold.value.to_integral_value() else int(threshold.value)
            data = {**snapshot.data, "threshold": {"value": value, "type": threshold.type}}
            created.append(events.create(
                rule, data, now=now, feature_key=snapshot.feature_key, subject_key=snapshot.subject_key, dedupe_key=key,
            ))  # fmt: skip
    return created


def entitlement_reset(session: Session, *, feature_id: str, feature_key: str, subject_key: str, data: dict[str, Any],
                      now: dt.datetime, on_commit: Callable[[], None] | None = None) -> list[Event]:  # fmt: skip
    events = EventService(session, on_commit=on_commit)
    return [
        events.create(rule, data, now=now, feature_key=feature_key, subject_key=subject_key)
        for rule in _enabled_rules(session, RULE_ENTITLEMENT_RESET)
        if _matches(rule, feature_id, feature_key)
    ]


def invoice_changed(session: Session, *, created: bool, invoice: dict[str, Any], now: dt.datetime,
                    on_commit: Callable[[], None] | None = None) -> list[Event]:  # fmt: skip
    """For standard invoices only (the caller skips gathering invoices); `invoice` is the API's Invoice."""
    events = EventService(session, on_commit=on_commit)
    annotations = {"invoice.id": invoice.get("id"), "invoice.number": invoice.get("number")}
    rule_type = RULE_INVOICE_CREATED if created else RULE_INVOICE_UPDATED
    return [events.create(rule, invoice, now=now, annotations=annotations) for rule in _enabled_rules(session, rule_type)]
