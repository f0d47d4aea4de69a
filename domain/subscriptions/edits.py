"""editSubscription: patches applied in order at one resolved time (openmeter-billing.md 2.4).

The time is `immediate` (now) or `next_billing_cycle` (end of the current aligned billing period,
which must stay in the current phase); an explicit time is refused (400). Errors follow the
reference's patch error kinds: validation 400, forbidden 403, conflict 409.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from domain.catalog import durations, ratecards
from domain.catalog.issues import field_of, keyed, raise_issues
from domain.errors import ConflictError, ForbiddenError, ValidationError
from domain.ids import new_id
from domain.subscriptions import timing as timing_
from domain.subscriptions.model import Item, Phase, Subscription

MAX_OPERATIONS = 100


def _invalid(message: str, field: str) -> ValidationError:
    return ValidationError(message, extensions={"validationErrors": [
        {"code": "subscription_edit_invalid", "message": message, "field": field, "severity": "critical"}]})  # fmt: skip


def _shift_phase(phase: Phase, delta: dt.timedelta) -> Phase:
    items = [dataclasses.replace(i, active_from=i.active_from + delta, active_to=None if i.active_to is None else i.active_to + delta)
             for i in phase.items]  # fmt: skip
    return dataclasses.replace(phase, active_from=phase.active_from + delta, items=items)


class Editor:
    """Applies one edit request to a subscription, returning the edited copy."""

    def __init__(self, session: Session, subscription: Subscription, *, now: dt.datetime):
        self.session = session
        self.sub = subscription
        self.now = now

    # --- time and phases -----------------------------------------------------------------------

    def resolve(self, value: Any) -> dt.datetime:
        resolved = timing_.parse_timing(value if value is not None else timing_.IMMEDIATE)
        if isinstance(resolved, dt.datetime):
            raise _invalid("custom timing is not supported for editing a subscription", "$.timing")
        current = self.sub.phase_at(self.now)
        if current is None:
            raise ConflictError("the subscription has no current phase")
        if resolved == timing_.IMMEDIATE:
            return self.now
        _, start, end = current
        at = timing_.aligned_period_at(self.sub.billing_anchor, self.sub.billing_cadence, self.now, start, end).end
        if end is not None and at >= end:
            raise _invalid("next_billing_cycle of the edit falls into another phase", "$.timing")
        return at

    def _index(self, key: str, field: str) -> int:
        for index, phase in enumerate(self.sub.phases):
            if phase.key == key:
                return index
        raise _invalid(f"phase {key} not found", field)

    def _current_index(self, at: dt.datetime) -> int:
        located = self.sub.phase_at(at)
        if located is None:
            raise ConflictError("the subscription has no current phase")
        return next(i for i, p in enumerate(self.sub.phases) if p.id == located[0].id)

    def _replace_phase(self, index: int, phase: Phase) -> None:
        phases = list(self.sub.phases)
        phases[index] = dataclasses.replace(phase, updated_at=self.now)
        self.sub = dataclasses.replace(self.sub, phases=phases)

    # --- operations ----------------------------------------------------------------------------

    def apply(self, operations: list[dict[str, Any]], at: dt.datetime) -> Subscription:
        if len(operations) > MAX_OPERATIONS:
            raise _invalid(f"at most {MAX_OPERATIONS} customizations are allowed", "$.customizations")
        for position, operation in enumerate(operations):
            handler = getattr(self, "_" + operation["op"])
            handler(operation, at, f"$.customizations[{position}]")
        return dataclasses.replace(self.sub, updated_at=self.now)

    def _add_item(self, op: dict[str, Any], at: dt.datetime, field: str) -> None:
        from domain.catalog.plans import check_features_exist

        index = self._index(op["phaseKey"], f"{field}.phaseKey")
        phase = self.sub.phases[index]
        card = ratecards.normalise(op["rateCard"])
        base = keyed(keyed("", "phases", phase.key), "items", card["key"])
        check_features_exist(self.session, [card])
        issues = ratecards.validate(card, base)
        cadence = durations.parse(self.sub.billing_cadence)
        if ratecards.is_billable(card) and card.get("billingCadence") is not None:
            card_cadence = durations.parse(card["billingCadence"])
            if card_cadence.is_positive and not durations.aligned(cadence, card_cadence):
                from domain.catalog.issues import issue

                issues.append(issue("rate_card_billing_cadence_unaligned", field_of(base, "billingCadence")))
        raise_issues([i for i in issues if i.critical or i.code == "rate_card_billing_cadence_unaligned"])
        current = self._current_index(at)
        if index < current:
            raise ForbiddenError(f"cannot add an item to phase {phase.key}: it started before the current phase")
        versions = [i for i in phase.items if i.key == card["key"]]
        if index > current:
            if versions:
                raise ForbiddenError(f"phase {phase.key} already has items for key {card['key']}")
            start = phase.active_from
            items = list(phase.items)
        else:
            if any(v.active_from > at for v in versions):
                raise ForbiddenError(f"item {card['key']} has a later version scheduled in phase {phase.key}")
            start = max(at, phase.active_from)
            items = [dataclasses.replace(i, active_to=start, updated_at=self.now)
                     if i.key == card["key"] and (i.active_to is None or i.active_to > start) else i for i in phase.items]  # fmt: skip
        items.append(Item(id=new_id(), key=card["key"], rate_card=card, active_from=start, active_to=None,
                          created_at=self.now, updated_at=self.now))  # fmt: skip
        self._replace_phase(index, dataclasses.replace(phase, items=items))

    def _remove_item(self, op: dict[str, Any], at: dt.datetime, field: str) -> None:
        index = self._index(op["phaseKey"], f"{field}.phaseKey")
        phase = self.sub.phases[index]
        versions = sorted((i for i in phase.items if i.key == op["itemKey"]), key=lambda i: i.active_from)
        if not versions:
            raise _invalid(f"item {op['itemKey']} not found in phase {phase.key}", f"{field}.itemKey")
        current = self._current_index(at)
        if index < current:
            raise ForbiddenError(f"cannot remove an item of phase {phase.key}: it started before the current phase")
        last = versions[-1]
        if index > current or last.active_from >= at:
            items = [i for i in phase.items if i.id != last.id]
        else:
            items = [dataclasses.replace(i, active_to=at, updated_at=self.now) if i.id == last.id else i for i in phase.items]
        self._replace_phase(index, dataclasses.replace(phase, items=items))

    def _add_phase(self, op: dict[str, Any], at: dt.datetime, field: str) -> None:
        data = op["phase"]
        if any(p.key == data["key"] for p in self.sub.phases):
            raise ConflictError(f"phase {data['key']} already exists")
        start = timing_.add_text(self.sub.active_from, data.get("startAfter") or "PT0S")
        if start <= self.now:
            raise ForbiddenError("a new phase must start in the future")
        if self.sub.active_to is not None and start >= self.sub.active_to:
            raise ForbiddenError("a new phase must start before the subscription ends")
        phases = sorted(self.sub.phases, key=lambda p: p.active_from)
        later = [p for p in phases if p.active_from >= start]
        earlier = [p for p in phases if p.active_from < start]
        if data.get("duration") is not None and later:
            end = timing_.add_text(start, data["duration"])
            gap = later[0].active_from - start
            delta = (end - start) - gap
            later = [_shift_phase(p, delta) for p in later]
        new = Phase(id=new_id(), key=data["key"], name=data["name"], description=data.get("description"), metadata=None,
                    discounts=data.get("discounts"), active_from=start, items=[], created_at=self.now, updated_at=self.now)  # fmt: skip
        self.sub = dataclasses.replace(self.sub, phases=[*earlier, new, *later])

    def _remove_phase(self, op: dict[str, Any], at: dt.datetime, field: str) -> None:
        index = self._index(op["phaseKey"], f"{field}.phaseKey")
        phase = self.sub.phases[index]
        if phase.active_from <= self.now:
            raise ForbiddenError(f"phase {phase.key} has already started")
        phases = list(self.sub.phases)
        following = phases[index + 1:]
        if op["shift"] == "next" and following:
            delta = phase.active_from - following[0].active_from
            following = [_shift_phase(p, delta) for p in following]
        self.sub = dataclasses.replace(self.sub, phases=[*phases[:index], *following])

    def _stretch_phase(self, op: dict[str, Any], at: dt.datetime, field: str) -> None:
        try:
            extend = durations.parse(op["extendBy"])
        except durations.InvalidDuration:
            raise _invalid(f"invalid duration {op['extendBy']!r}", f"{field}.extendBy") from None
        if extend.is_zero:
            raise _invalid("extendBy must not be zero", f"{field}.extendBy")
        index = self._index(op["phaseKey"], f"{field}.phaseKey")
        if len(self.sub.phases) < 2:
            raise ConflictError("a subscription with a single phase cannot be stretched")
        end = self.sub.phase_end(index)
        if end is not None and end <= self.now:
            raise ForbiddenError(f"phase {self.sub.phases[index].key} is already over")
        phases = list(self.sub.phases)
        if index + 1 >= len(phases):
            return  # the last phase lasts until the subscription ends
        old = phases[index + 1].active_from
        delta = timing_.add(old, extend) - old
        new_start = old + delta
        if new_start <= phases[index].active_from or new_start <= self.now:
            raise ConflictError(f"stretching phase {phases[index].key} by {op['extendBy']} would leave it empty or end it in the past")
        phases[index + 1:] = [_shift_phase(p, delta) for p in phases[index + 1:]]
        self.sub = dataclasses.replace(self.sub, phases=phases)

    def _unschedule_edit(self, op: dict[str, Any], at: dt.datetime, field: str) -> None:
        index = self._current_index(self.now)
        phase = self.sub.phases[index]
        items = [dataclasses.replace(i, active_to=None, updated_at=self.now) if i.active_to is not None and i.active_to > self.now else i
                 for i in phase.items if i.active_from <= self.now]  # fmt: skip
        self._replace_phase(index, dataclasses.replace(phase, items=items))
