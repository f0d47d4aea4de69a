"""OpenMeter `Notifications` operations: channels, rules, events (openmeter-billing.md 5; ruling 9)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.notifications.delivery import dispatcher
from domain.notifications.model import (
    FEATURE_RULE_TYPES,
    RULE_BALANCE_THRESHOLD,
    Channel,
    ChannelInput,
    Delivery,
    Event,
    Rule,
    RuleInput,
    Threshold,
)
from domain.notifications.service import ChannelService, EventService, RuleService
from generated.openmeter import models
from handlers._decoding import datetime_parameter, decode
from tollgate.context import Reply, RequestContext

_RULE_MODELS = {
    "entitlements.balance.threshold": models.NotificationRuleBalanceThreshold,
    "entitlements.reset": models.NotificationRuleEntitlementReset,
    "invoice.created": models.NotificationRuleInvoiceCreated,
    "invoice.updated": models.NotificationRuleInvoiceUpdated,
}


def _wake(ctx: RequestContext):
    sender = dispatcher(ctx.database, ctx.settings.webhook_allowed_hosts)
    return sender.wake


def _descending(order: str | None) -> bool:
    return (order or "ASC").upper() == "DESC"


# --- channels ----------------------------------------------------------------------------------


def _channel_to_api(channel: Channel) -> models.NotificationChannel:
    return models.NotificationChannel(
        id=channel.id, type=channel.type, name=channel.name, disabled=channel.disabled, metadata=channel.metadata,
        url=channel.url, custom_headers=channel.custom_headers or {}, signing_secret=channel.signing_secret,
        created_at=channel.created_at, updated_at=channel.updated_at, deleted_at=channel.deleted_at,
    )  # fmt: skip


def _channel_input(body: dict) -> ChannelInput:
    request = decode(models.NotificationChannelCreateRequest, body)
    return ChannelInput(
        name=request.name, url=request.url, disabled=bool(request.disabled), metadata=request.metadata,
        custom_headers=request.custom_headers, signing_secret=request.signing_secret,
    )  # fmt: skip


def list_notification_channels(ctx: RequestContext, *, include_deleted: bool = False, include_disabled: bool = False,
                               page: int = 1, page_size: int = 100, order: str = "ASC",
                               order_by: str | None = None) -> models.NotificationChannelPaginatedResponse:  # fmt: skip
    items, total = ChannelService(ctx.session).list(
        include_deleted=bool(include_deleted), include_disabled=bool(include_disabled), order_by=order_by,
        descending=_descending(order), page=page, page_size=page_size,
    )  # fmt: skip
    return models.NotificationChannelPaginatedResponse(
        total_count=total, page=page, page_size=page_size, items=[_channel_to_api(c) for c in items]
    )


def create_notification_channel(ctx: RequestContext, *, body: dict) -> models.NotificationChannel:
    return _channel_to_api(ChannelService(ctx.session).create(_channel_input(body), now=ctx.now))


def get_notification_channel(ctx: RequestContext, *, channel_id: str) -> models.NotificationChannel:
    return _channel_to_api(ChannelService(ctx.session).get(channel_id))


def update_notification_channel(ctx: RequestContext, *, channel_id: str, body: dict) -> models.NotificationChannel:
    return _channel_to_api(ChannelService(ctx.session).update(channel_id, _channel_input(body), now=ctx.now))


def delete_notification_channel(ctx: RequestContext, *, channel_id: str) -> None:
    ChannelService(ctx.session).delete(channel_id, now=ctx.now)


# --- rules -------------------------------------------------------------------------------------


def _rule_to_api(rule: Rule, channels: dict[str, Channel]) -> Any:
    fields: dict[str, Any] = dict(
        id=rule.id, type=rule.type, name=rule.name, disabled=rule.disabled, metadata=rule.metadata,
        created_at=rule.created_at, updated_at=rule.updated_at, deleted_at=rule.deleted_at,
        channels=[models.NotificationChannelMeta(id=channel_id, type=channels[channel_id].type if channel_id in channels else "WEBHOOK")
                  for channel_id in rule.channel_ids],
    )  # fmt: skip
    if rule.type in FEATURE_RULE_TYPES and rule.features:
        fields["features"] = [models.FeatureMeta(id=f.id, key=f.key) for f in rule.features]
    if rule.type == RULE_BALANCE_THRESHOLD:
        fields["thresholds"] = [models.NotificationRuleBalanceThresholdValue(value=t.value, type=t.type) for t in rule.thresholds or ()]
    return _RULE_MODELS[rule.type](**fields)


def _rule_input(body: dict) -> RuleInput:
    request = decode(models.NotificationRuleCreateRequest, body).root
    features = getattr(request, "features", None)
    thresholds = getattr(request, "thresholds", None)
    return RuleInput(
        type=request.type, name=request.name, disabled=bool(request.disabled), metadata=request.metadata,
        channels=tuple(c.root for c in request.channels),
        features=tuple(f.root for f in features) if features is not None else None,
        thresholds=tuple(Threshold(value=t.value, type=t.type) for t in thresholds) if thresholds is not None else None,
    )  # fmt: skip


def _one_rule(service: RuleService, rule: Rule) -> Any:
    return _rule_to_api(rule, service.channels_of([rule]))


def list_notification_rules(ctx: RequestContext, *, include_deleted: bool = False, include_disabled: bool = False,
                            feature: list[str] | None = None, channel: list[str] | None = None, page: int = 1,
                            page_size: int = 100, order: str = "ASC",
                            order_by: str | None = None) -> models.NotificationRulePaginatedResponse:  # fmt: skip
    service = RuleService(ctx.session)
    items, total = service.list(
        include_deleted=bool(include_deleted), include_disabled=bool(include_disabled), features=feature, channels=channel,
        order_by=order_by, descending=_descending(order), page=page, page_size=page_size,
    )  # fmt: skip
    channels = service.channels_of(items)
    return models.NotificationRulePaginatedResponse(
        total_count=total, page=page, page_size=page_size, items=[_rule_to_api(rule, channels) for rule in items]
    )


def create_notification_rule(ctx: RequestContext, *, body: dict) -> Any:
    service = RuleService(ctx.session)
    return _one_rule(service, service.create(_rule_input(body), now=ctx.now))


def get_notification_rule(ctx: RequestContext, *, rule_id: str) -> Any:
    service = RuleService(ctx.session)
    return _one_rule(service, service.get(rule_id))


def update_notification_rule(ctx: RequestContext, *, rule_id: str, body: dict) -> Any:
    service = RuleService(ctx.session)
    return _one_rule(service, service.update(rule_id, _rule_input(body), now=ctx.now))


def delete_notification_rule(ctx: RequestContext, *, rule_id: str) -> None:
    RuleService(ctx.session).delete(rule_id, now=ctx.now)


def test_notification_rule(ctx: RequestContext, *, rule_id: str) -> Reply:
    event = EventService(ctx.session, on_commit=_wake(ctx)).test_rule(rule_id, now=ctx.now)
    return Reply(body=_event_to_api(ctx, event), status=201)


# --- events ------------------------------------------------------------------------------------


def _delivery_to_api(delivery: Delivery, channels: dict[str, Channel]) -> models.NotificationEventDeliveryStatus:
    channel = channels.get(delivery.channel_id)
    return models.NotificationEventDeliveryStatus(
        state=delivery.state, reason=delivery.reason, updated_at=delivery.updated_at, next_attempt=delivery.next_attempt,
        channel=models.NotificationChannelMeta(id=delivery.channel_id, type=channel.type if channel else "WEBHOOK"),
        annotations=delivery.annotations,
        attempts=[models.NotificationEventDeliveryAttempt(
            state=a.state, timestamp=a.timestamp,
            response=models.EventDeliveryAttemptResponse(status_code=a.status_code, body=a.body, duration_ms=a.duration_ms),
        ) for a in delivery.attempts],
    )  # fmt: skip


def _events_to_api(ctx: RequestContext, events: list[Event]) -> list[models.NotificationEvent]:
    rule_service = RuleService(ctx.session)
    rules = rule_service.rules.get_many(sorted({event.rule_id for event in events}))
    channel_ids = sorted({d.channel_id for e in events for d in e.deliveries} | {c for r in rules.values() for c in r.channel_ids})
    channels = rule_service.channels.get_many(channel_ids)
    result = []
    for event in events:
        rule = rules[event.rule_id]
        result.append(models.NotificationEvent(
            id=event.id, type=event.type, created_at=event.created_at, rule=_rule_to_api(rule, channels),
            delivery_status=[_delivery_to_api(d, channels) for d in event.deliveries],
            payload=event.payload, annotations=event.annotations,
        ))  # fmt: skip
    return result


def _event_to_api(ctx: RequestContext, event: Event) -> models.NotificationEvent:
    return _events_to_api(ctx, [event])[0]


def list_notification_events(ctx: RequestContext, *, from_: dt.datetime | str | None = None, to: dt.datetime | str | None = None,
                             feature: list[str] | None = None, subject: list[str] | None = None,
                             rule: list[str] | None = None, channel: list[str] | None = None, page: int = 1,
                             page_size: int = 100, order: str = "ASC",
                             order_by: str | None = None) -> models.NotificationEventPaginatedResponse:  # fmt: skip
    dispatcher(ctx.database, ctx.settings.webhook_allowed_hosts).wake()  # resumes sending after a restart
    items, total = EventService(ctx.session).list(
        created_from=datetime_parameter("from", from_), created_to=datetime_parameter("to", to), features=feature or None, subjects=subject or None,
        rules=rule or None, channels=channel or None, order_by=order_by or "createdAt", descending=_descending(order),
        offset=(page - 1) * page_size, limit=page_size,
    )  # fmt: skip
    return models.NotificationEventPaginatedResponse(
        total_count=total, page=page, page_size=page_size, items=_events_to_api(ctx, items)
    )


def get_notification_event(ctx: RequestContext, *, event_id: str) -> models.NotificationEvent:
    dispatcher(ctx.database, ctx.settings.webhook_allowed_hosts).wake()  # resumes sending after a restart
    return _event_to_api(ctx, EventService(ctx.session).get(event_id))


def resend_notification_event(ctx: RequestContext, *, event_id: str, body: dict | None = None) -> Reply:
    request = decode(models.NotificationEventResendRequest, body or {})
    channels = [c.root for c in request.channels] if request.channels else None
    EventService(ctx.session, on_commit=_wake(ctx)).resend(event_id, channels, now=ctx.now)
    return Reply(status=202)
