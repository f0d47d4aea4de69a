"""Subscription records and the status machine (openmeter-billing.md 2.1, 2.2).

A subscription keeps its phases as absolute UTC start times (a phase ends where the next begins, or
at the subscription's end) and, per phase, item versions keyed by rate-card key, each with its own
`active_from` / optional `active_to`. Rate cards are kept in the catalog's API shape (exact decimal
strings for money). Status is computed at read time, never stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from domain.errors import ForbiddenError

ACTIVE, INACTIVE, CANCELED, SCHEDULED = "active", "inactive", "canceled", "scheduled"
STATUSES = (ACTIVE, INACTIVE, CANCELED, SCHEDULED)

ALLOWED_ACTIONS = {
    INACTIVE: ("create",),
    ACTIVE: ("update", "change_addons", "cancel"),
    CANCELED: ("continue",),
    SCHEDULED: ("delete",),
}


@dataclass(frozen=True)
class Item:
    id: str
    key: str
    rate_card: dict[str, Any]
    active_from: dt.datetime
    active_to: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class Phase:
    id: str
    key: str
    name: str
    description: str | None
    metadata: dict[str, str] | None
    discounts: dict[str, Any] | None
    active_from: dt.datetime
    items: list[Item]
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class PlanRef:
    id: str
    key: str
    version: int


@dataclass(frozen=True)
class Subscription:
    id: str
    customer_id: str
    name: str
    description: str | None
    metadata: dict[str, str] | None
    plan: PlanRef | None
    currency: str
    billing_cadence: str
    pro_rating: dict[str, Any]
    billing_anchor: dt.datetime
    active_from: dt.datetime
    active_to: dt.datetime | None
    phases: list[Phase]
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = None
    annotations: dict[str, Any] = field(default_factory=dict)

    def status(self, at: dt.datetime) -> str:
        if self.deleted_at is not None and self.deleted_at <= at:
            return INACTIVE
        if self.active_from > at:
            return SCHEDULED
        if self.active_to is None:
            return ACTIVE
        return CANCELED if self.active_to > at else INACTIVE

    def require(self, action: str, at: dt.datetime) -> None:
        """403 unless `action` is allowed in the status at `at` (the reference's state machine)."""
        status = self.status(at)
        if action not in ALLOWED_ACTIONS[status]:
            raise ForbiddenError(f"transition {action} in state {status} not allowed")

    def phase_end(self, index: int) -> dt.datetime | None:
        """Where phase `index` ends: the next phase's start, else the subscription's end."""
        if index + 1 < len(self.phases):
            end = self.phases[index + 1].active_from
            return end if self.active_to is None else min(end, self.active_to)
        return self.active_to

    def visible_phases(self) -> list[tuple[Phase, dt.datetime, dt.datetime | None]]:
        """Phases with their effective [from, to), dropping those that start at or after the end."""
        result = []
        for index, phase in enumerate(self.phases):
            start = phase.active_from
            if self.active_to is not None and start >= self.active_to and not (start == self.active_from):
                continue
            end = self.phase_end(index)
            result.append((phase, start, end))
        return result

    def phase_at(self, at: dt.datetime) -> tuple[Phase, dt.datetime, dt.datetime | None] | None:
        for phase, start, end in self.visible_phases():
            if start <= at and (end is None or at < end):
                return phase, start, end
        return None

    def overlaps(self, start: dt.datetime, end: dt.datetime | None) -> bool:
        """Whether [active_from, active_to) meets [start, end) (None = open-ended)."""
        if self.deleted_at is not None:
            return False
        if self.active_to is not None and self.active_to <= self.active_from:
            return False  # canceled before it started: never active
        starts_before_end = end is None or self.active_from < end
        ends_after_start = self.active_to is None or self.active_to > start
        return starts_before_end and ends_after_start


def item_end(item: Item, phase_end: dt.datetime | None) -> dt.datetime | None:
    if item.active_to is None:
        return phase_end
    return item.active_to if phase_end is None else min(item.active_to, phase_end)


def flattened_items(phase: Phase, start: dt.datetime, end: dt.datetime | None, at: dt.datetime) -> list[Item]:
    """The items a view shows for a phase at `at`: current phase -> the version active at `at`;
    future phase -> each key's first version; past phase -> each key's last version."""
    by_key: dict[str, list[Item]] = {}
    for item in phase.items:
        by_key.setdefault(item.key, []).append(item)
    result = []
    for versions in by_key.values():
        versions = sorted(versions, key=lambda item: item.active_from)
        if start > at:
            result.append(versions[0])
        elif end is not None and end <= at:
            result.append(versions[-1])
        else:
            current = [v for v in versions if v.active_from <= at and (item_end(v, end) is None or at < item_end(v, end))]
            if current:
                result.append(current[-1])
    return result
