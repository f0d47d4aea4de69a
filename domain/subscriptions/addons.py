"""Subscription add-ons (openmeter-billing.md 2.5; DECISIONS.md rulings 1 and 5).

An add-on instance keeps a quantity timeline (segments from a time on). Each quantity change at a
time `t` is applied to the subscription's items from `t` on, in every phase from the one at `t`:
an add-on rate card whose key the phase already has is merged into that item (a flat amount grows
by (new - old quantity) x the add-on's amount: a new item version starts at `t`); any other key is
inserted as a new item (a flat amount multiplied by the quantity; other prices as they are), ended
when the quantity drops to 0. Only flat prices add up: merging any other price is a 400, as is a
result below zero.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from domain.catalog.model import ACTIVE as CATALOG_ACTIVE
from domain.catalog.model import Addon
from domain.catalog.ratecards import money_text
from domain.errors import NotFoundError, ValidationError
from domain.ids import new_id
from domain.subscriptions import timing as timing_
from domain.subscriptions.model import Item, Subscription, item_end

SINGLE = "single"


@dataclass(frozen=True)
class Segment:
    active_from: dt.datetime
    quantity: int


@dataclass(frozen=True)
class SubscriptionAddon:
    id: str
    subscription_id: str
    addon_id: str
    name: str
    metadata: dict[str, str] | None
    segments: list[Segment]
    affected: dict[str, list[str]]
    """rate-card key -> the subscription item ids the add-on created or changed."""
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = None

    def quantity_at(self, at: dt.datetime) -> int:
        current = 0
        for segment in self.segments:
            if segment.active_from <= at:
                current = segment.quantity
        return current

    def timeline(self, subscription_end: dt.datetime | None) -> list[tuple[dt.datetime, dt.datetime | None, int]]:
        result = []
        for index, segment in enumerate(self.segments):
            end = self.segments[index + 1].active_from if index + 1 < len(self.segments) else subscription_end
            result.append((segment.active_from, end, segment.quantity))
        return result


@dataclass(frozen=True)
class AddonChange:
    quantity: int
    timing: Any
    name: str | None = None
    metadata: dict[str, str] | None = None
    metadata_set: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _bad(message: str, field: str = "$") -> ValidationError:
    return ValidationError(message, extensions={"validationErrors": [
        {"code": "subscription_addon_invalid", "message": message, "field": field, "severity": "critical"}]})  # fmt: skip


def _scaled(card: dict[str, Any], quantity: int) -> dict[str, Any]:
    price = card.get("price")
    if price is None or price.get("type") != "flat":
        return dict(card)
    return {**card, "price": {**price, "amount": money_text(Decimal(price["amount"]) * quantity)}}


def _merged(base: dict[str, Any], addon_card: dict[str, Any], delta: int, field: str) -> dict[str, Any]:
    base_price, addon_price = base.get("price"), addon_card.get("price")
    if addon_price is None:
        return dict(base)
    if base_price is None or base_price.get("type") != "flat" or addon_price.get("type") != "flat":
        raise _bad(f"cannot add add-on rate card {addon_card['key']} to the item: only flat prices add up", field)
    amount = Decimal(base_price["amount"]) + delta * Decimal(addon_price["amount"])
    if amount < 0:
        raise _bad(f"removing add-on rate card {addon_card['key']} would make the item's amount negative", field)
    return {**base, "price": {**base_price, "amount": money_text(amount)}}


class SubscriptionAddonService:
    def __init__(self, session: Session):
        from storage.subscriptions import SubscriptionAddonRepository

        self.session = session
        self.addons = SubscriptionAddonRepository(session)

    def list(self, subscription_id: str) -> tuple[Subscription, list[SubscriptionAddon]]:
        from domain.subscriptions.service import SubscriptionService

        subscription = SubscriptionService(self.session).get(subscription_id)
        return subscription, self.addons.of_subscription(subscription.id)

    def get(self, subscription_id: str, addon_instance_id: str) -> tuple[Subscription, SubscriptionAddon]:
        subscription, instances = self.list(subscription_id)
        found = next((a for a in instances if a.id == addon_instance_id.upper()), None)
        if found is None:
            raise NotFoundError(f"subscription addon not found: {addon_instance_id}", resource="SubscriptionAddon")
        return subscription, found

    def catalog_addon(self, addon_id: str) -> Addon:
        from storage.catalog import AddonRepository

        addon = AddonRepository(self.session).get_by_id(addon_id.upper())
        if addon is None or addon.deleted_at is not None:
            raise NotFoundError(f"addon not found: {addon_id}", resource="Addon")
        return addon

    # --- writes --------------------------------------------------------------------------------

    def create(self, subscription_id: str, addon_id: str, change: AddonChange, *, now: dt.datetime) -> tuple[Subscription, SubscriptionAddon]:
        from domain.subscriptions.service import SubscriptionService

        service = SubscriptionService(self.session)
        subscription = service._locked(subscription_id)
        existing = next((a for a in self.addons.of_subscription(subscription.id) if a.addon_id == addon_id.upper()), None)
        if existing is not None:  # the reference's convenience: a second create changes the quantity
            return self.update(subscription.id, existing.id, change, now=now)
        addon = self.catalog_addon(addon_id)
        instance = SubscriptionAddon(id=new_id(), subscription_id=subscription.id, addon_id=addon.id, name=change.name or addon.name,
                                     metadata=change.metadata, segments=[], affected={}, created_at=now, updated_at=now)  # fmt: skip
        if change.quantity < 1:
            raise _bad("quantity must be at least 1 when adding an add-on", "$.quantity")
        return self._apply(service, subscription, addon, instance, change, now=now)

    def update(self, subscription_id: str, instance_id: str, change: AddonChange, *, now: dt.datetime) -> tuple[Subscription, SubscriptionAddon]:
        from domain.subscriptions.service import SubscriptionService

        service = SubscriptionService(self.session)
        subscription = service._locked(subscription_id)
        _, instance = self.get(subscription.id, instance_id)
        addon = self.catalog_addon(instance.addon_id)
        if change.name is not None:
            instance = dataclasses.replace(instance, name=change.name)
        if change.metadata_set:
            instance = dataclasses.replace(instance, metadata=change.metadata)
        return self._apply(service, subscription, addon, instance, change, now=now)

    def _resolve(self, subscription: Subscription, value: Any, now: dt.datetime) -> dt.datetime:
        resolved = timing_.parse_timing(value)
        if resolved == timing_.IMMEDIATE:
            return now
        if resolved == timing_.NEXT_BILLING_CYCLE:
            located = subscription.phase_at(now)
            if located is None:
                raise _bad("the subscription is not active now", "$.timing")
            _, start, end = located
            return timing_.aligned_period_at(subscription.billing_anchor, subscription.billing_cadence, now, start, end).end
        assert isinstance(resolved, dt.datetime)
        if resolved < now - timing_.CREATE_PAST_TOLERANCE:
            raise _bad("the add-on change cannot be in the past", "$.timing")
        return resolved

    def _apply(self, service: Any, subscription: Subscription, addon: Addon, instance: SubscriptionAddon, change: AddonChange,
               *, now: dt.datetime) -> tuple[Subscription, SubscriptionAddon]:  # fmt: skip
        from storage.catalog import PlanAddonRepository

        if subscription.plan is None:
            raise _bad("add-ons can only be added to subscriptions of a plan", "$.addon")
        assignment = next((a for a in PlanAddonRepository(self.session).of_plan(subscription.plan.id, include_deleted=False)
                           if a.addon_id == addon.id), None)  # fmt: skip
        if assignment is None:
            raise _bad(f"add-on {addon.id} is not linked to plan {subscription.plan.id}", "$.addon.id")
        if addon.status(now) != CATALOG_ACTIVE:
            raise _bad(f"add-on {addon.id} is not active", "$.addon.id")
        if addon.currency != subscription.currency:
            raise _bad(f"add-on currency {addon.currency} differs from the subscription's {subscription.currency}", "$.addon.id")
        if change.quantity < 0:
            raise _bad("quantity must not be negative", "$.quantity")
        if addon.instance_type == SINGLE and change.quantity > 1:
            raise _bad("a single-instance add-on has quantity 1", "$.quantity")
        if assignment.max_quantity is not None and change.quantity > assignment.max_quantity:
            raise _bad(f"quantity {change.quantity} exceeds the maximum {assignment.max_quantity}", "$.quantity")
        at = self._resolve(subscription, change.timing, now)
        if subscription.status(at) not in ("active", "canceled") or (subscription.active_to is not None and at >= subscription.active_to):
            raise _bad("the subscription must be active at the add-on's time", "$.timing")
        located = subscription.phase_at(at)
        keys = [p.key for p in subscription.phases]
        if located is None or (assignment.from_plan_phase in keys and keys.index(located[0].key) < keys.index(assignment.from_plan_phase)):
            raise _bad(f"the add-on is available from phase {assignment.from_plan_phase} on", "$.timing")
        previous = instance.quantity_at(at)
        if any(s.active_from > at for s in instance.segments):
            raise _bad("the add-on already has a later quantity change scheduled", "$.timing")
        segments = [s for s in instance.segments if s.active_from != at] + [Segment(at, change.quantity)]
        subscription, affected = self._apply_to_items(subscription, addon, instance.affected, previous, change.quantity, at, now)
        instance = dataclasses.replace(instance, segments=segments, affected=affected, updated_at=now)
        service.subscriptions.save(subscription)
        self.addons.save(instance)
        return subscription, instance

    def _apply_to_items(self, subscription: Subscription, addon: Addon, affected: dict[str, list[str]], previous: int, quantity: int,
                        at: dt.datetime, now: dt.datetime) -> tuple[Subscription, dict[str, list[str]]]:  # fmt: skip
        affected = {key: list(ids) for key, ids in affected.items()}
        delta = quantity - previous
        phases = list(subscription.phases)
        located = subscription.phase_at(at)
        first = next(i for i, p in enumerate(phases) if located is not None and p.id == located[0].id)
        for index in range(first, len(phases)):
            phase = phases[index]
            end = subscription.phase_end(index)
            start = max(at, phase.active_from)
            if end is not None and start >= end:
                continue
            items = list(phase.items)
            for card in addon.rate_cards:
                ids = affected.setdefault(card["key"], [])
                field = f"$.phases[?(@.key=='{phase.key}')].items.{card['key']}"
                current = next((i for i in items if i.key == card["key"] and i.active_from <= start
                                and (item_end(i, end) is None or start < item_end(i, end))), None)  # fmt: skip
                inserted = current is not None and current.id in ids and current.rate_card.get("x-addon") == addon.id
                if current is None:
                    if quantity == 0:
                        continue
                    new_card = _scaled(card, quantity)
                elif inserted:
                    new_card = {**_scaled(card, quantity), "x-addon": addon.id} if quantity else None
                else:
                    new_card = _merged(current.rate_card, card, delta, field)
                if current is not None:
                    if current.active_from == start:
                        items = [i for i in items if i.id != current.id]
                    else:
                        items = [dataclasses.replace(i, active_to=start, updated_at=now) if i.id == current.id else i for i in items]
                if new_card is None:
                    continue
                if current is None:
                    new_card = {**new_card, "x-addon": addon.id}
                item = Item(id=new_id(), key=card["key"], rate_card=new_card, active_from=start,
                            active_to=None if current is None else current.active_to, created_at=now, updated_at=now)  # fmt: skip
                items.append(item)
                ids.append(item.id)
            phases[index] = dataclasses.replace(phase, items=items, updated_at=now)
        return dataclasses.replace(subscription, phases=phases, updated_at=now), affected
