"""OpenMeter `Subscriptions` operations: decode, call domain.subscriptions, encode.

Responses are built as the API's JSON (dicts), as the catalog handlers do, so rate-card prices keep
their exact decimal strings. listCustomerSubscriptions lives in handlers/openmeter/customers.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.subscriptions import timing
from domain.subscriptions.model import Item, Subscription, flattened_items, item_end
from domain.subscriptions.service import CreateInput, SubscriptionService
from handlers.openmeter._mapping import subscription_to_api
from tollgate.context import RequestContext

_ITEM_FIELDS = ("name", "description", "metadata", "featureKey", "discounts", "taxConfig")


def _item_to_api(item: Item, phase_end: dt.datetime | None) -> dict[str, Any]:
    card = item.rate_card
    data: dict[str, Any] = {
        "id": item.id,
        "key": item.key,
        "createdAt": item.created_at,
        "updatedAt": item.updated_at,
        "activeFrom": item.active_from,
        "billingCadence": card.get("billingCadence"),
        "price": card.get("price"),
    }
    for name in _ITEM_FIELDS:
        if card.get(name) is not None:
            data[name] = card[name]
    end = item_end(item, phase_end)
    if end is not None:
        data["activeTo"] = end
    return data


def _expanded_to_api(subscription: Subscription, at: dt.datetime) -> dict[str, Any]:
    """The spec's `SubscriptionExpanded`: the subscription with its phases and items as seen at `at`."""
    data = subscription_to_api(subscription, at)
    data["alignment"] = {"billablesMustAlign": True}
    located = subscription.phase_at(at)
    if located is not None and subscription.status(at) in ("active", "canceled"):
        _, start, end = located
        period = timing.aligned_period_at(subscription.billing_anchor, subscription.billing_cadence, at, start, end)
        data["alignment"]["currentAlignedBillingPeriod"] = {"from": period.start, "to": period.end}
    phases = []
    for phase, start, end in subscription.visible_phases():
        timelines: dict[str, list[dict[str, Any]]] = {}
        for item in sorted(phase.items, key=lambda i: (i.key, i.active_from)):
            timelines.setdefault(item.key, []).append(_item_to_api(item, end))
        out: dict[str, Any] = {
            "id": phase.id,
            "key": phase.key,
            "name": phase.name,
            "createdAt": phase.created_at,
            "updatedAt": phase.updated_at,
            "activeFrom": start,
            "items": [_item_to_api(item, end) for item in flattened_items(phase, start, end, at)],
            "itemTimelines": timelines,
        }
        for name, value in (("description", phase.description), ("metadata", phase.metadata), ("discounts", phase.discounts)):
            if value is not None:
                out[name] = value
        if end is not None:
            out["activeTo"] = end
        phases.append(out)
    data["phases"] = phases
    return data


def _anchor(body: dict[str, Any]) -> dt.datetime | None:
    raw = body.get("billingAnchor")
    return None if raw is None else timing.parse_instant(raw, "billingAnchor")


def _create_input(body: dict[str, Any]) -> CreateInput:
    plan = body.get("plan") or {}
    return CreateInput(
        customer_id=body.get("customerId"),
        customer_key=body.get("customerKey"),
        plan_key=plan.get("key"),
        plan_version=plan.get("version"),
        custom_plan=body.get("customPlan"),
        starting_phase=body.get("startingPhase"),
        name=body.get("name") or None,
        description=body.get("description"),
        metadata=body.get("metadata"),
        timing=body.get("timing", timing.IMMEDIATE),
        billing_anchor=_anchor(body),
    )


def create_subscription(ctx: RequestContext, *, body: dict[str, Any]) -> dict[str, Any]:
    subscription = SubscriptionService(ctx.session).create(_create_input(body), now=ctx.now)
    return subscription_to_api(subscription, ctx.now)


def get_subscription(ctx: RequestContext, *, subscription_id: str, at: Any = None) -> dict[str, Any]:
    when = ctx.now if at is None else timing.parse_instant(at, "at")
    return _expanded_to_api(SubscriptionService(ctx.session).get(subscription_id), when)


def delete_subscription(ctx: RequestContext, *, subscription_id: str) -> None:
    SubscriptionService(ctx.session).delete(subscription_id, now=ctx.now)


def cancel_subscription(ctx: RequestContext, *, subscription_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    value = (body or {}).get("timing", timing.IMMEDIATE)
    subscription = SubscriptionService(ctx.session).cancel(subscription_id, value, now=ctx.now)
    return subscription_to_api(subscription, ctx.now)


def unschedule_cancelation(ctx: RequestContext, *, subscription_id: str) -> dict[str, Any]:
    return subscription_to_api(SubscriptionService(ctx.session).unschedule_cancelation(subscription_id, now=ctx.now), ctx.now)


def restore_subscription(ctx: RequestContext, *, subscription_id: str) -> dict[str, Any]:
    return subscription_to_api(SubscriptionService(ctx.session).restore(subscription_id, now=ctx.now), ctx.now)


def change_subscription(ctx: RequestContext, *, subscription_id: str, body: dict[str, Any]) -> dict[str, Any]:
    current, nxt = SubscriptionService(ctx.session).change(subscription_id, _create_input(body), now=ctx.now)
    return {"current": subscription_to_api(current, ctx.now), "next": _expanded_to_api(nxt, ctx.now)}


def migrate_subscription(ctx: RequestContext, *, subscription_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    body = body or {}
    current, nxt = SubscriptionService(ctx.session).migrate(
        subscription_id,
        timing=body.get("timing", timing.IMMEDIATE),
        target_version=body.get("targetVersion"),
        starting_phase=body.get("startingPhase"),
        billing_anchor=_anchor(body),
        now=ctx.now,
    )
    return {"current": subscription_to_api(current, ctx.now), "next": _expanded_to_api(nxt, ctx.now)}


def edit_subscription(ctx: RequestContext, *, subscription_id: str, body: dict[str, Any]) -> dict[str, Any]:
    from domain.subscriptions.service import edit

    edited = edit(ctx.session, subscription_id, list(body.get("customizations") or []), body.get("timing"), now=ctx.now)
    return subscription_to_api(edited, ctx.now)


def _addon_to_api(subscription: Subscription, instance: Any, addon: Any, now: dt.datetime) -> dict[str, Any]:
    timeline = instance.timeline(subscription.active_to)
    segments = []
    for start, end, quantity in timeline:
        segment: dict[str, Any] = {"activeFrom": start, "quantity": quantity}
        if end is not None:
            segment["activeTo"] = end
        segments.append(segment)
    data: dict[str, Any] = {
        "id": instance.id,
        "name": instance.name,
        "createdAt": instance.created_at,
        "updatedAt": instance.updated_at,
        "activeFrom": timeline[0][0] if timeline else instance.created_at,
        "addon": {"id": addon.id, "key": addon.key, "version": addon.version, "instanceType": addon.instance_type},
        "quantityAt": now,
        "quantity": instance.quantity_at(now),
        "timeline": segments,
        "subscriptionId": subscription.id,
        "rateCards": [{"rateCard": card, "affectedSubscriptionItemIds": list(instance.affected.get(card["key"], []))}
                      for card in addon.rate_cards],  # fmt: skip
    }
    if timeline and timeline[-1][2] == 0:
        data["activeTo"] = timeline[-1][0]
    elif subscription.active_to is not None:
        data["activeTo"] = subscription.active_to
    if instance.metadata is not None:
        data["metadata"] = dict(instance.metadata)
    return data


def _addon_change(body: dict[str, Any]) -> Any:
    from domain.errors import ValidationError
    from domain.subscriptions.addons import AddonChange

    missing = [name for name in ("quantity", "timing") if body.get(name) is None]
    if missing:  # ruling 1: the reference answers 500; Tollgate 400
        raise ValidationError(f"{' and '.join(missing)} required", extensions={"validationErrors": [
            {"code": "subscription_addon_invalid", "message": f"{name} is required", "field": f"$.{name}"} for name in missing]})  # fmt: skip
    return AddonChange(quantity=int(body["quantity"]), timing=body["timing"], name=body.get("name"), metadata=body.get("metadata"),
                       metadata_set="metadata" in body)  # fmt: skip


def list_subscription_addons(ctx: RequestContext, *, subscription_id: str) -> list[dict[str, Any]]:
    from domain.subscriptions.addons import SubscriptionAddonService

    service = SubscriptionAddonService(ctx.session)
    subscription, instances = service.list(subscription_id)
    return [_addon_to_api(subscription, i, service.catalog_addon(i.addon_id), ctx.now) for i in instances]


def create_subscription_addon(ctx: RequestContext, *, subscription_id: str, body: dict[str, Any]) -> dict[str, Any]:
    from domain.subscriptions.addons import SubscriptionAddonService

    service = SubscriptionAddonService(ctx.session)
    subscription, instance = service.create(subscription_id, body["addon"]["id"], _addon_change(body), now=ctx.now)
    return _addon_to_api(subscription, instance, service.catalog_addon(instance.addon_id), ctx.now)


def get_subscription_addon(ctx: RequestContext, *, subscription_id: str, subscription_addon_id: str) -> dict[str, Any]:
    from domain.subscriptions.addons import SubscriptionAddonService

    service = SubscriptionAddonService(ctx.session)
    subscription, instance = service.get(subscription_id, subscription_addon_id)
    return _addon_to_api(subscription, instance, service.catalog_addon(instance.addon_id), ctx.now)


def update_subscription_addon(ctx: RequestContext, *, subscription_id: str, subscription_addon_id: str,
                              body: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    from domain.subscriptions.addons import SubscriptionAddonService

    service = SubscriptionAddonService(ctx.session)
    subscription, instance = service.update(subscription_id, subscription_addon_id, _addon_change(body), now=ctx.now)
    return _addon_to_api(subscription, instance, service.catalog_addon(instance.addon_id), ctx.now)
