"""The catalog's records. Rate cards are kept in the API's own JSON shape (normalised by `ratecards`):
money as canonical decimal strings, so amounts round-trip exactly."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

DRAFT, ACTIVE, ARCHIVED, SCHEDULED = "draft", "active", "archived", "scheduled"


def status_at(effective_from: dt.datetime | None, effective_to: dt.datetime | None, now: dt.datetime) -> str:
    """Status computed from the effective period (openmeter-billing.md 1.1; archived when to <= now)."""
    if effective_from is None:
        return DRAFT
    if effective_to is not None and effective_to <= now:
        return ARCHIVED
    if effective_from <= now:
        return ACTIVE
    return SCHEDULED


@dataclass(frozen=True)
class Plan:
    id: str
    key: str
    version: int
    name: str
    description: str | None
    metadata: dict[str, str] | None
    currency: str
    billing_cadence: str
    pro_rating: dict[str, Any]
    phases: list[dict[str, Any]]
    """`[{key, name, description?, metadata?, duration, rateCards: [...]}]` in the API's shape."""
    effective_from: dt.datetime | None
    effective_to: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = None

    def status(self, now: dt.datetime) -> str:
        return status_at(self.effective_from, self.effective_to, now)

    def phase_keys(self) -> list[str]:
        return [phase["key"] for phase in self.phases]


@dataclass(frozen=True)
class Addon:
    id: str
    key: str
    version: int
    name: str
    description: str | None
    metadata: dict[str, str] | None
    currency: str
    instance_type: str
    rate_cards: list[dict[str, Any]]
    effective_from: dt.datetime | None
    effective_to: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = None

    def status(self, now: dt.datetime) -> str:
        status = status_at(self.effective_from, self.effective_to, now)
        return ACTIVE if status == SCHEDULED else status  # add-ons are never scheduled


@dataclass(frozen=True)
class PlanAddon:
    id: str
    plan_id: str
    addon_id: str
    from_plan_phase: str
    max_quantity: int | None
    metadata: dict[str, str] | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = None


@dataclass(frozen=True)
class ListQuery:
    """Filters, ordering and paging shared by the plan and add-on lists."""

    ids: list[str] | None = None
    keys: list[str] | None = None
    key_versions: dict[str, list[int]] | None = None
    statuses: list[str] | None = None
    currencies: list[str] | None = None
    include_deleted: bool = False
    order_by: str = "id"
    descending: bool = False
    page: int = 1
    page_size: int = 100
